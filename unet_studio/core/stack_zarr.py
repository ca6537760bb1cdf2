"""OME-Zarr images (the NGFF layout napari, Fiji's MoBIE / BigDataViewer and webKnossos read),
opened lazily like a TIFF: a plane read is the chunks of that plane, whatever the volume's size.

The `ome-zarr` library reads the metadata (axes, the pyramid's levels and their scales); the
full-resolution level is read. Optional: `pip install 'unet_studio[zarr]'`; without it an
OME-Zarr folder is refused with that line. Problems found here raise StackError.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from unet_studio.core.channel_names import zarr_channel_names
from unet_studio.core.errors import StackError
from unet_studio.core.stack_axes import AxisMap, map_axes

INSTALL_HINT = "reading OME-Zarr needs the optional packages: pip install 'unet_studio[zarr]'"
# The unit names of the NGFF axes (UDUNITS-2) that have a short form.
_UNITS = {"micrometer": "um", "nanometer": "nm", "millimeter": "mm", "centimeter": "cm", "meter": "m",
          "angstrom": "A"}

# ome-zarr reports version differences through `logging`: not on the CLI's stderr.
logging.getLogger("ome_zarr").addHandler(logging.NullHandler())
logging.getLogger("ome_zarr").propagate = False


def is_ome_zarr(path: Path) -> bool:
    """A folder holding a Zarr group with OME multiscales metadata (NGFF 0.4 or 0.5)."""
    for name in (".zattrs", "zarr.json"):
        attributes = path / name
        if attributes.is_file():
            try:
                return b"multiscales" in attributes.read_bytes()[:1_000_000]
            except OSError:
                return False
    return False


def open_ome_zarr(path: Path):
    """A Stack of the first image of an OME-Zarr folder, full resolution, read plane by plane."""
    from unet_studio.core.stack import Stack, check_dtype

    try:
        from ome_zarr.io import parse_url
        from ome_zarr.reader import Reader
    except ImportError:
        raise StackError(f"{path}: {INSTALL_HINT}") from None
    location = parse_url(str(path))
    if location is None:
        raise StackError(f"{path}: not an OME-Zarr image")
    nodes = list(Reader(location)())
    if not nodes or not nodes[0].data:
        raise StackError(f"{path}: the OME-Zarr folder holds no image")
    image = nodes[0]
    data = _full_resolution(image)
    names = [str(a["name"] if isinstance(a, dict) else a).upper() for a in image.metadata.get("axes", [])]
    if len(names) != data.ndim:
        raise StackError(f"{path}: {len(names)} axes named for an image of {data.ndim} dimensions")
    check_dtype(data.dtype, path)
    amap = map_axes("".join(names), tuple(int(n) for n in data.shape), trusted=True)
    if 0 in amap.shape:
        raise StackError(f"{path}: the image has no pixels (shape {amap.shape})")
    pixel_size, z_spacing, unit = _calibration(image.metadata, names)
    stack = Stack(path=path, axes=amap.axes, shape=amap.shape, dtype=np.dtype(data.dtype),
                  pixel_size=pixel_size, z_spacing=z_spacing if "Z" in amap.axes else None, unit=unit,
                  axes_inferred=amap.inferred, axes_note=amap.note, name=path.name,
                  _reader=_ZarrReader(data, amap))
    stack.channel_names = zarr_channel_names(image.zarr.root_attrs, stack.n_c)
    return stack


def _full_resolution(image):
    """The image's full-resolution level as a zarr array, read without dask. ome-zarr hands
    out dask arrays, and dask's slicing turns Python's automatic garbage collection back on
    (its `disable_gc` restores the state seen when dask was imported): in the app, that lets a
    training worker collect Qt objects, which deadlocks (gui/garbage.py). The dask array where
    the level cannot be opened so."""
    try:
        import zarr

        path = image.zarr.root_attrs["multiscales"][0]["datasets"][0]["path"]
        level = zarr.open_array(image.zarr.subpath(path), mode="r")
        if tuple(level.shape) == tuple(image.data[0].shape):
            return level
    except Exception:  # noqa: BLE001 - any layout ome-zarr reads but zarr cannot: use its array
        pass
    return image.data[0]


def _calibration(metadata: dict, names: list[str]) -> tuple[tuple[float, float] | None, float | None, str]:
    """(pixel size (y, x), z spacing, unit) of the full-resolution level, when the axes have
    a unit (a scale without one is not a calibration)."""
    axes = metadata.get("axes", [])
    units = {str(a.get("name", "")).upper(): a.get("unit") for a in axes if isinstance(a, dict)}
    unit = units.get("X") or units.get("Y")
    scale = None
    for transform in (metadata.get("coordinateTransformations") or [[]])[0]:
        if transform.get("type") == "scale":
            scale = [float(v) for v in transform.get("scale", [])]
    if not unit or scale is None or len(scale) != len(names):
        return None, None, ""
    size = dict(zip(names, scale))
    z_spacing = size.get("Z") if units.get("Z") == unit else None
    return (size["Y"], size["X"]), z_spacing, _UNITS.get(str(unit).lower(), str(unit))


class _ZarrReader:
    def __init__(self, data, amap: AxisMap):
        self.data, self.amap = data, amap

    def read_plane(self, t: int, z: int) -> np.ndarray:
        block = np.asarray(self.data[self.amap.plane_index(t, z)])
        return np.array(self.amap.to_plane(block)).astype(block.dtype.newbyteorder("="), copy=False)

    def read_region(self, t: int, z: int, rows: slice, cols: slice) -> np.ndarray:
        block = np.asarray(self.data[self.amap.region_index(t, z, rows, cols)])
        return np.array(self.amap.to_region(block)).astype(block.dtype.newbyteorder("="), copy=False)

    def read_all(self) -> np.ndarray:
        return np.asarray(self.amap.to_canonical(np.asarray(self.data)))

    def close(self) -> None:
        self.data = None
