"""Predictions written as OME-Zarr (NGFF 0.4, Zarr v2: what napari, Fiji's MoBIE /
BigDataViewer and webKnossos read), one (t, z) plane at a time (or a plane too large to hold,
part by part), like core/tiff_writer.py's TiffPlanes: memory stays at a plane (or a part)
whatever the volume's size.

Axes and scale are the source's (calibration only when it has one), stored in the NGFF order
(t, c, z, y, x: a probabilities image keeps its channels before Z); chunks are one plane of
at most 512 x 512 px. Closing a complete image adds a pyramid (each level half the size in Y
and X, made plane by plane from the one above: class values by taking every other pixel,
probabilities by averaging 2 x 2 pixels, piece by piece) down to about 256 px, and the multiscales metadata,
written by the `ome-zarr` library. The class names of a mask go in its attributes
(`unet_studio.classes`). Optional: `pip install 'unet_studio[zarr]'`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from unet_studio.core.errors import UnetStudioError
from unet_studio.core.tiff_writer import next_block, next_part

INSTALL_HINT = "writing OME-Zarr needs the optional packages: pip install 'unet_studio[zarr]'"
CHUNK = 512           # largest chunk side in Y and X
SMALLEST_LEVEL = 256  # the pyramid stops when a level's plane is about this size
# NGFF unit names of our short ones.
_UNITS = {"um": "micrometer", "µm": "micrometer", "nm": "nanometer", "mm": "millimeter",
          "cm": "centimeter", "m": "meter"}
_AXIS_TYPES = {"T": "time", "C": "channel", "Z": "space", "Y": "space", "X": "space"}


class ZarrPlanes:
    """An OME-Zarr image of a known `shape` (`axes` from "TZCYX", ending in YX), filled with
    `append` one (t, z) block at a time, (Y, X) or (C, Y, X), in order. `averaged`: the
    pyramid averages (probabilities) instead of taking every other pixel (class values).
    `calibration`: workflow/export.py's Calibration. `classes`: names kept in the attributes.
    `reopen`: the image exists (made by another process with the same shape): write into it."""

    def __init__(self, path: str | Path, shape: tuple[int, ...], axes: str, dtype, calibration,
                 *, averaged: bool = False, classes: list[str] | None = None, reopen: bool = False,
                 source: dict | None = None):
        try:
            import zarr
        except ImportError:
            raise UnetStudioError(INSTALL_HINT) from None
        self.path = Path(path)
        self.shape, self.axes, self.dtype = tuple(int(n) for n in shape), axes.upper(), np.dtype(dtype)
        self.block_shape = self.shape[sum(a in "TZ" for a in self.axes):]
        self.n_blocks = int(np.prod(self.shape[:len(self.shape) - len(self.block_shape)]))
        self.count = 0
        self.calibration, self.averaged, self.classes = calibration, averaged, classes
        self.source = source or {}   # export_meta.source_record
        self.stored_axes = "".join(a for a in "TCZYX" if a in self.axes)
        stored_shape = tuple(self.shape[self.axes.index(a)] for a in self.stored_axes)
        if reopen:   # made by another process: write planes into it (workflow/cluster_volume.py)
            self.group = zarr.open_group(str(self.path), mode="r+")
            self.levels = [self.group["0"]]
        else:
            self.group = zarr.open_group(str(self.path), mode="w", zarr_format=2)
            self.levels = [self._level_array(0, stored_shape)]

    def seek(self, i: int) -> None:
        """Make block i (t-major order of its (t, z)) the next one written: a volume's planes
        shared among processes, each writing its own; seek(n_blocks) once all are written."""
        if not 0 <= i <= self.n_blocks:
            raise ValueError(f"block {i} of {self.n_blocks}")
        self.count = i

    def append(self, block: np.ndarray) -> None:
        block = next_block(self, block)
        self.levels[0][self._index(self.count)] = block.astype(self.dtype, copy=False)
        self.count += 1

    def put(self, block: np.ndarray, rows: slice, cols: slice, last: bool) -> None:
        """Part `rows` x `cols` of the next (t, z) block (a plane too large to hold goes part
        by part); `last`: that block is complete."""
        block = next_part(self, block, rows, cols)
        self.levels[0][self._index(self.count)[:-2] + (rows, cols)] = block.astype(self.dtype, copy=False)
        self.count += bool(last)

    def get(self, rows: slice, cols: slice) -> np.ndarray:
        """Part `rows` x `cols` of the next (t, z) block as written so far (zeros elsewhere)."""
        return np.asarray(self.levels[0][self._index(self.count)[:-2] + (rows, cols)])

    def close(self) -> None:
        """A complete image gets its pyramid and metadata; an incomplete one is left as it is
        (the caller discards it)."""
        if self.count != self.n_blocks or self.group is None:
            self.group = None
            return
        while min(self.levels[-1].shape[-2:]) >= 2 * SMALLEST_LEVEL:
            self._add_level()
        self._write_metadata()
        self.group = None

    # -- internals -------------------------------------------------------------------------
    def _index(self, i: int) -> tuple:
        """Where block i (t-major order of its (t, z)) goes in the stored array."""
        lead_axes = [a for a in self.axes if a in "TZ"]
        lead_shape = [self.shape[self.axes.index(a)] for a in lead_axes]
        position = dict(zip(lead_axes, (int(v) for v in np.unravel_index(i, lead_shape)))) if lead_axes else {}
        return tuple(position.get(a, slice(None)) for a in self.stored_axes)

    def _level_array(self, level: int, shape: tuple[int, ...]):
        chunks = tuple(n if a == "C" else 1 for a, n in zip(self.stored_axes[:-2], shape[:-2]))
        chunks += (min(CHUNK, shape[-2]), min(CHUNK, shape[-1]))
        return self.group.create_array(str(level), shape=shape, dtype=self.dtype, chunks=chunks,
                                       fill_value=0, chunk_key_encoding={"name": "v2", "separator": "/"})

    def _add_level(self) -> None:
        above = self.levels[-1]
        shape = above.shape[:-2] + tuple((n + 1) // 2 for n in above.shape[-2:])
        below = self._level_array(len(self.levels), shape)
        height, width = above.shape[-2:]
        step = 4 * CHUNK   # even, so each piece halves as the whole plane would
        for i in range(self.n_blocks):
            lead = self._index(i)[:-2]
            for y in range(0, height, step):
                for x in range(0, width, step):
                    piece = np.asarray(above[lead + (slice(y, y + step), slice(x, x + step))])
                    half = (slice(y // 2, (y + step) // 2), slice(x // 2, (x + step) // 2))
                    below[lead + half] = self._halve(piece)
        self.levels.append(below)

    def _halve(self, block: np.ndarray) -> np.ndarray:
        if not self.averaged:
            return block[..., ::2, ::2]
        h, w = block.shape[-2:]
        padded = np.pad(block, [(0, 0)] * (block.ndim - 2) + [(0, h % 2), (0, w % 2)], mode="edge")
        four = padded.reshape(padded.shape[:-2] + (padded.shape[-2] // 2, 2, padded.shape[-1] // 2, 2))
        return four.mean(axis=(-3, -1)).astype(self.dtype)

    def _write_metadata(self) -> None:
        from ome_zarr.format import FormatV04
        from ome_zarr.writer import write_multiscales_metadata

        c = self.calibration
        unit = _UNITS.get(c.unit, c.unit) if c.unit else None
        spacing = {"Y": c.pixel_size[0] if c.pixel_size else 1.0,
                   "X": c.pixel_size[1] if c.pixel_size else 1.0, "Z": c.z_spacing or 1.0}
        axes = []
        for a in self.stored_axes:
            axis = {"name": a.lower(), "type": _AXIS_TYPES[a]}
            if unit and a in "YX" and c.pixel_size or unit and a == "Z" and c.z_spacing:
                axis["unit"] = unit
            axes.append(axis)
        datasets = []
        for level in range(len(self.levels)):
            scale = [spacing.get(a, 1.0) * (2 ** level if a in "YX" else 1) for a in self.stored_axes]
            datasets.append({"path": str(level), "coordinateTransformations": [{"type": "scale", "scale": scale}]})
        write_multiscales_metadata(self.group, datasets, fmt=FormatV04(), axes=axes, name=self.path.name)
        ours = {"classes": {str(k): n for k, n in enumerate(self.classes)}} if self.classes else {}
        if self.source:
            ours["source"] = self.source
        if ours:
            self.group.attrs["unet_studio"] = ours
