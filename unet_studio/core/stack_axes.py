"""Name a file's dimensions with the canonical axes T, Z, C, Y, X.

Files name their dimensions in many ways (tifffile's letters: ImageJ 'TZCYXS', OME 'TCZYXS',
a plain multi-page TIFF 'IYX', tifffile's own 'QYX' ...). The rest of the program only knows
T (time), Z (slices), C (channels), Y and X, in that order. An `AxisMap` says which source
dimensions make up each canonical axis, so a reader can pick one (t, z) plane straight out of
the source layout without reordering the whole file.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

AXES = "TZCYX"

# Source letters that mean the same as ours. 'S' (samples: RGB, RGBA, extra samples) are
# channels as far as a user is concerned.
_KNOWN = {"T": "T", "Z": "Z", "C": "C", "S": "C", "Y": "Y", "X": "X"}

_SOURCE_NAMES = {
    "I": "image sequence", "Q": "unnamed", "A": "angle", "P": "phase", "R": "tile",
    "H": "lifetime", "E": "lambda", "L": "exposure", "V": "event", "M": "mosaic",
}


@dataclass(frozen=True)
class AxisMap:
    """Which source dimensions make up each canonical axis.

    groups: canonical letter -> positions in the source shape, in source order; a canonical
        axis made of several source dimensions is their row-major combination.
    dropped: positions of source dimensions of size 1 that are not used.
    """

    source_shape: tuple[int, ...]
    groups: dict[str, tuple[int, ...]]
    dropped: tuple[int, ...]
    inferred: bool
    note: str

    @property
    def axes(self) -> str:
        return "".join(a for a in AXES if a in self.groups)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.size(a) for a in self.axes)

    def size(self, axis: str) -> int:
        """Length of a canonical axis (1 when absent)."""
        return prod(self.source_shape[p] for p in self.groups.get(axis, ()))

    def plane_index(self, t: int, z: int) -> tuple[int | slice, ...]:
        """Index into the source array selecting plane (t, z): ints for T/Z dimensions
        (and dropped ones), full slices for C, Y and X; keeps source order."""
        index: list[int | slice] = [slice(None)] * len(self.source_shape)
        for axis, value in (("T", t), ("Z", z)):
            n = self.size(axis)
            if not 0 <= value < n:
                raise IndexError(f"{axis} index {value} is out of range (0..{n - 1})")
            positions = self.groups.get(axis, ())
            if positions:
                parts = _unravel(value, [self.source_shape[p] for p in positions])
                for p, v in zip(positions, parts):
                    index[p] = v
        for p in self.dropped:
            index[p] = 0
        return tuple(index)

    def region_index(self, t: int, z: int, rows: slice, cols: slice) -> tuple[int | slice, ...]:
        """plane_index(t, z) narrowed to `rows` x `cols` of the plane."""
        index = list(self.plane_index(t, z))
        (y,), (x,) = self.groups["Y"], self.groups["X"]
        index[y], index[x] = rows, cols
        return tuple(index)

    def to_region(self, block) -> "object":
        """(C, h, w) from the result of `source[region_index(...)]` (source order)."""
        kept = [p for p in range(len(self.source_shape)) if p not in self._fixed_positions()]
        order = [kept.index(p) for p in self._ordered_positions("CYX")]
        arranged = block.transpose(order)
        return arranged.reshape(self.size("C"), *arranged.shape[-2:])

    def to_plane(self, block) -> "object":
        """(C, Y, X) from the result of `source[plane_index(t, z)]` (source order)."""
        kept = [p for p in range(len(self.source_shape)) if p not in self._fixed_positions()]
        order = [kept.index(p) for p in self._ordered_positions("CYX")]
        arranged = block.transpose(order)
        return arranged.reshape(self.size("C"), self.size("Y"), self.size("X"))

    def to_canonical(self, data) -> "object":
        """The whole source array (source shape) rearranged to `axes` order and `shape`."""
        order = self._ordered_positions(AXES) + list(self.dropped)
        return data.reshape(self.source_shape).transpose(order).reshape(self.shape)

    def _fixed_positions(self) -> set[int]:
        return set(self.groups.get("T", ())) | set(self.groups.get("Z", ())) | set(self.dropped)

    def _ordered_positions(self, letters: str) -> list[int]:
        return [p for a in letters for p in self.groups.get(a, ())]


def map_axes(source_axes: str, source_shape: tuple[int, ...], *,
             trusted: bool = True) -> AxisMap:
    """Decide the canonical axes for a source layout.

    source_axes: one letter per dimension (tifffile's letters); must contain Y and X.
    trusted: False when the letters themselves are only a reader's guess (then the result is
        marked inferred even if every letter is a known one).
    """
    if len(source_axes) != len(source_shape):
        raise ValueError(f"axes {source_axes!r} do not match shape {source_shape}")
    if "Y" not in source_axes or "X" not in source_axes:
        raise ValueError(f"no Y and X dimensions in axes {source_axes!r}")
    groups: dict[str, list[int]] = {}
    dropped: list[int] = []
    unknown: list[int] = []
    for p, (letter, n) in enumerate(zip(source_axes, source_shape)):
        if letter in "YX":
            groups.setdefault(letter, []).append(p)
        elif n == 1:
            dropped.append(p)
        elif letter in _KNOWN:
            groups.setdefault(_KNOWN[letter], []).append(p)
        else:
            unknown.append(p)
    if len(groups["Y"]) != 1 or len(groups["X"]) != 1:
        raise ValueError(f"more than one Y or X dimension in axes {source_axes!r}")

    notes = []
    if unknown:
        guesses = _guess_unknown(unknown, "T" in groups, "Z" in groups)
        for p, axis in guesses:
            groups.setdefault(axis, []).append(p)
        notes.append(_describe_guesses(source_axes, source_shape, guesses))
    for axis in "TZC":
        if len(groups.get(axis, ())) > 1:
            groups[axis].sort()
            if axis == "C" and all(source_axes[p] in "CS" for p in groups[axis]):
                notes.append("its channels and colour samples were combined into C")
    note = "; ".join(notes)
    if note:
        note = note[0].upper() + note[1:] + "."
    inferred = bool(unknown) or not trusted
    if not trusted and not note:
        note = "The file does not name its axes; they were read as " + (
            "".join(a for a in AXES if a in groups)) + "."
    return AxisMap(
        source_shape=tuple(int(n) for n in source_shape),
        groups={a: tuple(v) for a, v in groups.items()},
        dropped=tuple(dropped),
        inferred=inferred,
        note=note,
    )


def _guess_unknown(unknown: list[int], has_t: bool, has_z: bool) -> list[tuple[int, str]]:
    # A stack of unnamed pages is most often a Z stack; with two unnamed dimensions the
    # slower one is usually time (a series of Z stacks). Whatever is left joins an axis that
    # exists, so nothing is thrown away.
    if not has_t and not has_z:
        if len(unknown) == 1:
            return [(unknown[0], "Z")]
        return [(unknown[0], "T")] + [(p, "Z") for p in unknown[1:]]
    target = "Z" if not has_z else "T"
    return [(p, target) for p in unknown]


def _describe_guesses(axes: str, shape: tuple[int, ...], guesses) -> str:
    meaning = {"T": "time points (T)", "Z": "Z slices"}
    parts = []
    for p, axis in guesses:
        letter = axes[p]
        if letter == "I":  # tifffile's letter for a plain sequence of pages
            what = f"its {shape[p]} pages were"
        elif letter == "Q":
            what = f"its unnamed dimension of {shape[p]} was"
        else:
            what = f"its {_SOURCE_NAMES.get(letter, repr(letter))} dimension of {shape[p]} was"
        parts.append(f"{what} read as {meaning[axis]}")
    return "the file does not name all its axes: " + ", ".join(parts)


def _unravel(value: int, sizes: list[int]) -> list[int]:
    out = []
    for n in reversed(sizes):
        out.append(value % n)
        value //= n
    return out[::-1]
