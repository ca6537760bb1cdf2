"""Write masks and probability maps as TIFF files that open right in Fiji and napari.

ImageJ hyperstacks by default (axes, pixel size, unit and Z spacing in the ImageJ header, so Fiji
shows the right number of slices and frames and the right scale bar), OME-TIFF on request.
Always written atomically: a crash never leaves a half-written mask over a good one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from unet_studio.core.atomic import atomic_path
from unet_studio.core.errors import StackError

_MASK_AXES = "TZYX"
_PROBABILITY_AXES = "TZCYX"
_OME_UNITS = {"um": "µm", "micron": "µm", "µm": "µm", "nm": "nm", "mm": "mm", "cm": "cm", "m": "m"}


def write_mask(path: str | Path, data: np.ndarray, axes: str, *,
               pixel_size: tuple[float, float] | None = None, z_spacing: float | None = None,
               unit: str = "um", ome: bool = False) -> None:
    """Write a mask or probability map.

    data: integer/bool array with `axes` (an ordered subset of TZYX ending in YX), or a
        float array (probabilities) with axes from TZCYX.
        Integers are written as uint8 if the largest value is <= 255, else uint16.
        Floats are written as float32.
    pixel_size: (y, x) in `unit`; z_spacing in `unit`.
    ome: write OME-TIFF (PhysicalSize* in the OME-XML) instead of an ImageJ hyperstack.
    Raises ValueError for arrays that are not a mask, StackError (one line naming the file)
    when the file cannot be written.
    """
    path = Path(path)
    data = np.asarray(data)
    axes = axes.upper()
    data = _pixel_type(data)
    allowed = _PROBABILITY_AXES if data.dtype.kind == "f" else _MASK_AXES
    if data.ndim != len(axes) or not _ordered_subset(axes, allowed):
        raise ValueError(f"axes {axes!r} for shape {data.shape}: expected an ordered subset "
                         f"of {allowed} ending in YX, one letter per dimension")
    try:
        with atomic_path(path) as tmp:
            if ome:
                _write_ome(tmp, data, axes, pixel_size, z_spacing, unit)
            else:
                _write_imagej(tmp, data, axes, pixel_size, z_spacing, unit)
    except OSError as error:
        reason = error.strerror or str(error)
        raise StackError(f"{path}: cannot write the file ({reason})") from error


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
    top = int(data.max()) if data.size else 0
    if top <= 255:
        return data.astype(np.uint8, copy=False)
    if top <= 65535:
        return data.astype(np.uint16, copy=False)
    raise ValueError(f"mask values up to {top} do not fit in 16 bits")


def _write_imagej(tmp: Path, data, axes, pixel_size, z_spacing, unit) -> None:
    metadata: dict = {"axes": axes}
    if unit:
        metadata["unit"] = unit
    if z_spacing and "Z" in axes:
        metadata["spacing"] = float(z_spacing)
    if data.dtype.kind == "u":
        # Display range 0..largest class so every class is visible when Fiji opens it.
        metadata["min"] = 0.0
        metadata["max"] = float(max(int(data.max()) if data.size else 0, 1))
    resolution = None
    if pixel_size:
        resolution = (1.0 / float(pixel_size[1]), 1.0 / float(pixel_size[0]))
    # photometric is explicit so that a mask 3 or 4 pixels wide is never taken for RGB.
    tifffile.imwrite(tmp, data, imagej=True, ome=False, photometric="minisblack",
                     metadata=metadata, resolution=resolution)


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
