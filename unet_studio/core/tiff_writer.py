"""Write masks and probability maps as TIFF files that open right in Fiji and napari.

ImageJ hyperstacks by default (axes, pixel size, unit and Z spacing in the ImageJ header, so Fiji
shows the right number of slices and frames and the right scale bar), OME-TIFF on request.
`write_mask` writes a whole array atomically: a crash never leaves a half-written mask over a
good one. `TiffPlanes` writes a file plane by plane, for results too big to hold at once, or
part of a plane at a time, for a plane too big to hold.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import tifffile

from unet_studio.core.atomic import atomic_path
from unet_studio.core.errors import StackError

_MASK_AXES = "TZYX"
_PROBABILITY_AXES = "TZCYX"
_OME_UNITS = {"um": "µm", "micron": "µm", "µm": "µm", "nm": "nm", "mm": "mm", "cm": "cm", "m": "m"}


def write_mask(path: str | Path, data: np.ndarray, axes: str, *,
               pixel_size: tuple[float, float] | None = None, z_spacing: float | None = None,
               unit: str = "", ome: bool = False, properties: dict[str, str] | None = None) -> None:
    """Write a mask or probability map, atomically.

    data: integer/bool array with `axes` (an ordered subset of TZYX ending in YX), or a
        float array (probabilities) with axes from TZCYX.
        Integers are written as uint8 if the largest value is <= 255, else uint16 (uint32
        past 65,535). Floats are written as float32.
    pixel_size: (y, x) in `unit`; z_spacing in `unit`; neither is written when None, and the
        unit only with one of them (an uncalibrated image stays uncalibrated).
    ome: write OME-TIFF (PhysicalSize* in the OME-XML) instead of an ImageJ hyperstack.
    properties: ImageJ properties (text), shown by Fiji's Image > Show Info.
    Raises ValueError for arrays that are not a mask, StackError (one line naming the file)
    when the file cannot be written.
    """
    path = Path(path)
    data = _pixel_type(np.asarray(data))
    axes = axes.upper()
    allowed = _PROBABILITY_AXES if data.dtype.kind == "f" else _MASK_AXES
    if data.ndim != len(axes) or not _ordered_subset(axes, allowed):
        raise ValueError(f"axes {axes!r} for shape {data.shape}: expected an ordered subset "
                         f"of {allowed} ending in YX, one letter per dimension")
    try:
        with atomic_path(path) as tmp:
            if ome:
                _write_ome(tmp, data, axes, pixel_size, z_spacing, unit)
            else:
                display_max = _top(data) if data.dtype.kind == "u" else None
                metadata = TiffMetadata(pixel_size, z_spacing, unit, properties, display_max)
                with TiffPlanes(tmp, data.shape, axes, data.dtype, metadata) as planes:
                    for block in data.reshape((-1,) + planes.block_shape):
                        planes.append(block)
    except OSError as error:
        reason = error.strerror or str(error)
        raise StackError(f"{path}: cannot write the file ({reason})") from error


@dataclass(frozen=True)
class TiffMetadata:
    """What a TIFF tells its reader besides the pixels: pixel size (y, x) and its unit, Z
    spacing, ImageJ properties (e.g. class names) and the display maximum (so every class of
    a mask is visible when Fiji opens it). None or "" for what the source does not have."""
    pixel_size: tuple[float, float] | None = None
    z_spacing: float | None = None
    unit: str = ""
    properties: dict | None = None
    display_max: float | None = None


class TiffPlanes:
    """An ImageJ hyperstack TIFF of a known shape, filled one plane at a time.

    The header is written first (uncompressed, so every plane has its fixed place in the
    file), then `append` writes each (t, z) block, (Y, X) or (C, Y, X), in order: memory stays
    at one plane whatever the stack's length. An integer block that does not fit the pixel
    type widens the file (uint8 -> uint16 -> uint32), copying the planes written so far.
    Writes to `path` directly: callers make it a temporary file and rename it when complete.
    """

    def __init__(self, path: str | Path, shape: tuple[int, ...], axes: str, dtype,
                 metadata: TiffMetadata | None = None):
        self.path = Path(path)
        self.shape, self.axes, self.dtype = tuple(int(n) for n in shape), axes.upper(), np.dtype(dtype)
        self.block_shape = self.shape[sum(a in "TZ" for a in self.axes):]
        self.n_blocks = int(np.prod(self.shape[:len(self.shape) - len(self.block_shape)]))
        self.count = 0
        self.metadata = metadata or TiffMetadata()
        self._offset = _write_header(self.path, self.shape, self.axes, self.dtype, self.metadata)
        self._file = open(self.path, "r+b")

    def append(self, block: np.ndarray) -> None:
        block = next_block(self, block)
        if self.dtype.kind in "ui" and block.size and int(block.max()) > np.iinfo(self.dtype).max:
            self._widen(_pixel_type(block).dtype)
        self._file.seek(self._offset + self.count * _nbytes(self.block_shape, self.dtype))
        self._file.write(block.astype(self.dtype.newbyteorder("<"), copy=False).tobytes())
        self.count += 1

    def put(self, block: np.ndarray, rows: slice, cols: slice, last: bool) -> None:
        """Part `rows` x `cols` of the next (t, z) block, (h, w) or (C, h, w), written in place:
        a plane too large to hold goes part by part; `last`: that block is complete."""
        block = next_part(self, block, rows, cols)
        if self.dtype.kind in "ui" and block.size and int(block.max()) > np.iinfo(self.dtype).max:
            raise ValueError(f"values up to {int(block.max())} do not fit this file's {self.dtype.name}")
        pixels = block.astype(self.dtype.newbyteorder("<"), copy=False).reshape(-1, block.shape[-1])
        for at, row in zip(self._rows_at(rows, cols), pixels):
            self._file.seek(at)
            self._file.write(row.tobytes())
        self.count += bool(last)

    def get(self, rows: slice, cols: slice) -> np.ndarray:
        """Part `rows` x `cols` of the next (t, z) block as written so far (zeros where nothing
        is yet): parts written over one another (objects found window by window) merge."""
        out = np.zeros(self.block_shape[:-2] + (rows.stop - rows.start, cols.stop - cols.start), self.dtype)
        pixels = out.reshape(-1, out.shape[-1])
        self._file.flush()
        for at, row in zip(self._rows_at(rows, cols), pixels):
            self._file.seek(at)
            row[:] = np.frombuffer(self._file.read(row.nbytes), self.dtype.newbyteorder("<"))
        return out

    def _rows_at(self, rows: slice, cols: slice) -> Iterator[int]:
        """Where each row of part `rows` x `cols` of the next block starts in the file, channel
        by channel."""
        height, width = self.block_shape[-2:]
        first = self._offset + self.count * _nbytes(self.block_shape, self.dtype)
        for channel in range(int(np.prod(self.block_shape[:-2], dtype=np.int64))):
            for y in range(rows.start, rows.stop):
                yield first + ((channel * height + y) * width + cols.start) * self.dtype.itemsize

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "TiffPlanes":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close()
        if exc_type is None and self.count != self.n_blocks:
            raise ValueError(f"{self.count} of {self.n_blocks} planes were written")

    def _widen(self, dtype: np.dtype) -> None:
        self._file.close()
        narrow = self.path.with_name(self.path.name + ".narrow.tmp")
        os.replace(self.path, narrow)
        try:
            block_bytes = _nbytes(self.block_shape, self.dtype)
            old_offset, old_dtype = self._offset, self.dtype.newbyteorder("<")
            self.dtype = np.dtype(dtype)
            self._offset = _write_header(self.path, self.shape, self.axes, self.dtype, self.metadata)
            self._file = open(self.path, "r+b")
            with open(narrow, "rb") as old:
                for i in range(self.count):
                    old.seek(old_offset + i * block_bytes)
                    block = np.frombuffer(old.read(block_bytes), old_dtype)
                    self._file.seek(self._offset + i * _nbytes(self.block_shape, self.dtype))
                    self._file.write(block.astype(self.dtype.newbyteorder("<")).tobytes())
        finally:
            narrow.unlink()


def next_block(file, block) -> np.ndarray:
    """`block` as an array, checked to be the next (t, z) block `file` can take (a file of
    this module or of another format with `block_shape`, `count` and `n_blocks`)."""
    block = np.asarray(block)
    if block.shape != file.block_shape:
        raise ValueError(f"a plane of shape {block.shape}, expected {file.block_shape}")
    if file.count >= file.n_blocks:
        raise ValueError(f"all {file.n_blocks} planes are written already")
    return block


def next_part(file, block, rows: slice, cols: slice) -> np.ndarray:
    """`block` as an array, checked to be part `rows` x `cols` of the next (t, z) block `file`
    can take (next_block for a part)."""
    block = np.asarray(block)
    height, width = file.block_shape[-2:]
    if not (0 <= rows.start < rows.stop <= height and 0 <= cols.start < cols.stop <= width):
        raise ValueError(f"part {rows} x {cols} is outside a plane of {height} x {width}")
    expected = file.block_shape[:-2] + (rows.stop - rows.start, cols.stop - cols.start)
    if block.shape != expected:
        raise ValueError(f"a part of shape {block.shape}, expected {expected}")
    if file.count >= file.n_blocks:
        raise ValueError(f"all {file.n_blocks} planes are written already")
    return block


def _nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape)) * dtype.itemsize


def _top(data: np.ndarray) -> int:
    return int(data.max()) if data.size else 0


def _pixel_type(data: np.ndarray) -> np.ndarray:
    kind = data.dtype.kind
    if kind == "f":
        return data.astype(np.float32, copy=False)
    if kind == "b":
        return data.astype(np.uint8)
    if kind not in "ui":
        raise ValueError(f"cannot write a mask of pixel type {data.dtype.name}")
    if data.size and data.min() < 0:
        raise ValueError("a mask cannot hold negative values")
    top = _top(data)
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return data.astype(dtype, copy=False)
    raise ValueError(f"mask values up to {top} do not fit in 32 bits")


def _write_header(path: Path, shape, axes, dtype, meta: TiffMetadata) -> int:
    """Write the ImageJ header and page table of an uncompressed file; return where the
    pixels start (they follow one another, t-major, as in the array)."""
    pixel_size, z_spacing, unit = meta.pixel_size, meta.z_spacing, meta.unit
    properties, display_max = meta.properties, meta.display_max
    metadata: dict = {"axes": axes}
    if unit and (pixel_size or z_spacing):
        metadata["unit"] = unit
    if z_spacing and "Z" in axes:
        metadata["spacing"] = float(z_spacing)
    if display_max is not None:
        # Display range 0..largest value so every class is visible when Fiji opens it.
        metadata["min"] = 0.0
        metadata["max"] = float(max(display_max, 1))
    if properties:
        metadata["Properties"] = {str(k): str(v) for k, v in properties.items()}
    resolution = None
    if pixel_size:
        resolution = (1.0 / float(pixel_size[1]), 1.0 / float(pixel_size[0]))
    # ImageJ has no 32-bit integer type: such a file (over 65,535 objects in a plane) is a
    # plain TIFF with tifffile's description of axes and metadata (napari reads it).
    imagej = np.dtype(dtype).itemsize <= 2 or np.dtype(dtype).kind == "f"
    # photometric is explicit so that a mask 3 or 4 pixels wide is never taken for RGB.
    offset, _ = tifffile.imwrite(path, shape=shape, dtype=np.dtype(dtype).newbyteorder("<"),
                                 byteorder="<", imagej=imagej, ome=False, photometric="minisblack",
                                 metadata=metadata, resolution=resolution, returnoffset=True)
    return int(offset)


def _write_ome(tmp: Path, data, axes, pixel_size, z_spacing, unit) -> None:
    metadata: dict = {"axes": axes}
    ome_unit = _OME_UNITS.get(unit)
    if pixel_size and ome_unit:
        metadata.update(PhysicalSizeY=float(pixel_size[0]), PhysicalSizeX=float(pixel_size[1]),
                        PhysicalSizeYUnit=ome_unit, PhysicalSizeXUnit=ome_unit)
    if z_spacing and ome_unit and "Z" in axes:
        metadata.update(PhysicalSizeZ=float(z_spacing), PhysicalSizeZUnit=ome_unit)
    tifffile.imwrite(tmp, data, ome=True, photometric="minisblack", metadata=metadata,
                     compression="zlib")


def _ordered_subset(axes: str, allowed: str) -> bool:
    positions = [allowed.find(a) for a in axes]
    return (axes.endswith("YX") and -1 not in positions
            and positions == sorted(set(positions)))
