"""Undo / redo for labels: each step keeps only the pixels it changed.

A step is a list of actions:
- `PlaneChange`: pixels of one plane inside a box, with their old and new values, stored
  either sparse (flat indices into the box + values) or dense (box-sized arrays), whichever
  is smaller. A short stroke on a 2048 x 2048 plane costs a few kB, not the plane.
- `Relabel`: a value -> value table applied to the whole volume (class renumbering), which
  needs no pixel storage at all because it can be inverted.
- `ClassesChange`: the class list before and after (removing a class).

While a stroke is being painted, `StrokeRecorder` saves each tile of the plane the first time
the stroke touches it; at the end the saved tiles are compared with the plane to find the
changed pixels. This makes each paint call cost about the size of the brush, however long
the stroke already is.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from unet_studio.core.label_classes import LabelClass

Box = tuple[int, int, int, int]
PlaneIndex = tuple[int, int]  # (t, z)

TILE = 64
MAX_HISTORY_BYTES = 256 * 2**20


@dataclass
class PlaneChange:
    """Changed pixels of plane (t, z) inside `box` = (y0, y1, x0, x1), y1/x1 exclusive.

    index: flat indices into the box (sparse) or None (dense: old/new are box-shaped).
    """

    t: int
    z: int
    box: Box
    index: np.ndarray | None
    old: np.ndarray
    new: np.ndarray

    @property
    def nbytes(self) -> int:
        extra = 0 if self.index is None else self.index.nbytes
        return extra + self.old.nbytes + self.new.nbytes

    def apply(self, plane: np.ndarray, forward: bool) -> None:
        """Write the new (forward) or old values into `plane` (Y, X)."""
        y0, y1, x0, x1 = self.box
        region = plane[y0:y1, x0:x1]
        values = self.new if forward else self.old
        if self.index is None:
            region[...] = values
        else:
            region[np.unravel_index(self.index, region.shape)] = values

    @classmethod
    def from_pixels(
        cls, t: int, z: int, plane: np.ndarray, ys: np.ndarray, xs: np.ndarray, old: np.ndarray
    ) -> "PlaneChange":
        """Record pixels (ys, xs) whose value was `old` and is now what `plane` holds."""
        y0, y1 = int(ys.min()), int(ys.max()) + 1
        x0, x1 = int(xs.min()), int(xs.max()) + 1
        box = (y0, y1, x0, x1)
        new = plane[ys, xs]
        area = (y1 - y0) * (x1 - x0)
        if 6 * len(ys) < 2 * area:
            index = np.ravel_multi_index((ys - y0, xs - x0), (y1 - y0, x1 - x0))
            dtype = np.uint32 if area < 2**32 else np.uint64
            return cls(t, z, box, index.astype(dtype), old.copy(), new.copy())
        dense_new = plane[y0:y1, x0:x1].copy()
        dense_old = dense_new.copy()
        dense_old[ys - y0, xs - x0] = old
        return cls(t, z, box, None, dense_old, dense_new)


@dataclass
class Relabel:
    """Whole-volume value mapping (uint8 lookup tables of 256 entries), exactly invertible."""

    forward: np.ndarray
    backward: np.ndarray

    nbytes = 512

    def apply(self, data: np.ndarray, forward: bool) -> None:
        lut = self.forward if forward else self.backward
        planes = data.reshape((-1,) + data.shape[-2:])
        for plane in planes:  # plane by plane: no second full-size array in memory
            plane[...] = lut[plane]


@dataclass
class ClassesChange:
    before: tuple[LabelClass, ...]
    after: tuple[LabelClass, ...]

    nbytes = 0


Action = Union[PlaneChange, Relabel, ClassesChange]
Step = list  # list[Action], applied in order; undone in reverse order


def step_nbytes(step: Step) -> int:
    return sum(int(a.nbytes) for a in step)


class History:
    """Bounded undo stack (oldest dropped first) and a redo stack cleared by new edits."""

    def __init__(self, max_steps: int = 100, max_bytes: int = MAX_HISTORY_BYTES):
        self.max_steps = max(0, int(max_steps))
        self.max_bytes = max_bytes
        self._undo: deque[Step] = deque()
        self._redo: list[Step] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def nbytes(self) -> int:
        """Memory held by the pixel values and indices of all undo and redo steps."""
        return sum(step_nbytes(s) for s in self._undo) + sum(step_nbytes(s) for s in self._redo)

    def __len__(self) -> int:
        return len(self._undo)

    def push(self, step: Step) -> None:
        """Add a new edit: it becomes the next undo step and makes redo impossible."""
        self._redo.clear()
        if self.max_steps == 0:
            return
        self._undo.append(step)
        while len(self._undo) > self.max_steps:
            self._undo.popleft()
        # Keep the newest step even if it alone is over the byte limit.
        while len(self._undo) > 1 and self.nbytes > self.max_bytes:
            self._undo.popleft()

    def take_undo(self) -> Step | None:
        """The step to undo (moved onto the redo stack), or None."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(step)
        return step

    def take_redo(self) -> Step | None:
        """The step to redo (moved back onto the undo stack), or None."""
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        return step

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()


class StrokeRecorder:
    """Remembers the old content of every tile a stroke touches (see module docstring)."""

    def __init__(self) -> None:
        self._tiles: dict[PlaneIndex, dict[tuple[int, int], np.ndarray]] = {}

    def before_change(self, t: int, z: int, plane: np.ndarray, box: Box) -> None:
        """Call before writing into `box` of plane (t, z) (plane is the (Y, X) view)."""
        saved = self._tiles.setdefault((t, z), {})
        y0, y1, x0, x1 = box
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                if (ty, tx) not in saved:
                    saved[(ty, tx)] = plane[
                        ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE
                    ].copy()

    def finish(self, plane_of: Callable[[int, int], np.ndarray]) -> Step:
        """The changes since the stroke began, one PlaneChange per changed plane."""
        step: Step = []
        for (t, z), tiles in self._tiles.items():
            plane = plane_of(t, z)
            ys_all, xs_all, old_all = [], [], []
            for (ty, tx), old in tiles.items():
                y0, x0 = ty * TILE, tx * TILE
                current = plane[y0 : y0 + old.shape[0], x0 : x0 + old.shape[1]]
                ys, xs = np.nonzero(current != old)
                if len(ys):
                    ys_all.append(ys + y0)
                    xs_all.append(xs + x0)
                    old_all.append(old[ys, xs])
            if ys_all:
                ys, xs = np.concatenate(ys_all), np.concatenate(xs_all)
                step.append(PlaneChange.from_pixels(t, z, plane, ys, xs, np.concatenate(old_all)))
        self._tiles.clear()
        return step
