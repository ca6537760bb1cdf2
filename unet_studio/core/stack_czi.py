"""Zeiss CZI files, read lazily plane by plane with pylibCZIrw (the `czi` extra).

A CZI holds subblocks (tiles of a mosaic, scenes, channels, Z, T) that pylibCZIrw composes into
the plane asked for. Each plane is read as it is shown or predicted; a region of a plane too
large to hold is read alone (Stack.region). Of several scenes (wells, positions) one is opened,
the first unless asked (Stack.scenes says how many): each is an image of its own to a project
(core/project.py add_image) and to `unet-studio predict` (workflow/image_paths.py). Colour channels (Bgr24, Bgr48) become three channels in RGB order.
The pixel size and Z step come from the file's scaling (metres in the file, µm here).

    stack = open_czi(Path("plate.czi"), scene=3)   # Stack, axes a subset of TZCYX
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from unet_studio.core.channel_names import czi_channel_names
from unet_studio.core.errors import StackError
from unet_studio.core.tiff_sizes import implausible

CZI_MAGIC = b"ZISRAWFILE"
# More channels than any microscope records (spectral detectors give a few dozen).
MOST_CHANNELS = 1024
# pylibCZIrw's pixel types: (numpy type, samples per pixel; colour ones are stored as BGR)
_PIXEL_TYPES = {"Gray8": (np.uint8, 1), "Gray16": (np.uint16, 1), "Gray32Float": (np.float32, 1),
                "Bgr24": (np.uint8, 3), "Bgr48": (np.uint16, 3)}
# Grey channels of different types are read as the widest (libCZI keeps the values).
_GREY_WIDER = ("Gray8", "Gray16", "Gray32Float")


def open_czi(path: Path, scene: int = 0):
    """A Stack of scene `scene` (from 0) of the CZI file at `path`. StackError where it cannot be
    read."""
    from unet_studio.core.stack import Stack, scene_naming

    try:
        from pylibCZIrw import czi as pyczi
    except ImportError:
        raise StackError(f"{path}: a Zeiss CZI file; reading it needs pylibCZIrw: "
                         "pip install 'unet_studio[czi]' (or save it as OME-TIFF in ZEN or Fiji)") from None
    document = pyczi.CziReader(str(path))
    try:
        reader = _CziReader(path, document, scene)
        pixel_size, z_spacing = _scaling(document)
        name, scene_or_none, note = scene_naming(path, scene, reader.scenes)
        stack = Stack(path=path, axes=reader.axes, shape=reader.shape, dtype=reader.dtype,
                      pixel_size=pixel_size, z_spacing=z_spacing if "Z" in reader.axes else None,
                      unit="um" if pixel_size or z_spacing else "", axes_note=note, name=name,
                      scenes=reader.scenes, scene=scene_or_none, _reader=reader)
        stack.channel_names = czi_channel_names(document.metadata, stack.n_c)
    except BaseException:
        document.close()
        raise
    return stack


class _CziReader:
    def __init__(self, path: Path, document, scene: int):
        self.document = document
        self._lock = threading.Lock()   # the app reads from several threads; libCZI's file reads may not be safe so
        box = document.total_bounding_box
        self.n_t, self.n_z, self.channels = (_extent(box, a) for a in "TZC")
        self.first = {a: int(box.get(a, (0, 1))[0]) for a in "TZC"}   # where the file's indices start
        scenes = document.scenes_bounding_rectangle
        self.scenes = max(len(scenes), 1)
        if not 0 <= scene < self.scenes:
            raise StackError(f"{path}: holds {self.scenes} scene(s), not scene {scene + 1}")
        self.area = scenes[sorted(scenes)[scene]] if scenes else document.total_bounding_rectangle
        # What the file declares, checked against its bytes before each channel is asked for
        # (a damaged header can declare millions) and before anything is allocated.
        _check_declared(path, self.area.w * self.area.h, self.channels, self.n_t * self.n_z, 1)
        kinds = {document.get_channel_pixel_type(self.first["C"] + c) for c in range(self.channels)}
        listed = ', '.join(sorted(map(str, kinds)))
        if not kinds <= set(_PIXEL_TYPES):
            raise StackError(f"{path}: unsupported CZI pixel type(s) {listed}")
        if len(kinds) > 1 and not kinds <= set(_GREY_WIDER):
            raise StackError(f"{path}: its channels mix colour and grey pixels ({listed}), which are not read together")
        self.pixel_type = max(kinds, key=_GREY_WIDER.index) if len(kinds) > 1 else next(iter(kinds))
        kind, self.samples = _PIXEL_TYPES[self.pixel_type]
        self.dtype = np.dtype(kind)
        n_c = self.channels * self.samples
        _check_declared(path, self.area.w * self.area.h, n_c, self.n_t * self.n_z, self.dtype.itemsize)
        sizes = {"T": self.n_t, "Z": self.n_z, "C": n_c}
        self.axes = "".join(a for a in "TZC" if sizes[a] > 1) + "YX"
        self.shape = tuple(sizes[a] for a in self.axes[:-2]) + (self.area.h, self.area.w)
        if 0 in self.shape:
            raise StackError(f"{path}: the image has no pixels (shape {self.shape})")

    def read_plane(self, t: int, z: int) -> np.ndarray:
        return self._read(t, z, 0, 0, self.area.h, self.area.w)

    def read_region(self, t: int, z: int, rows: slice, cols: slice) -> np.ndarray:
        return self._read(t, z, rows.start, cols.start, rows.stop - rows.start, cols.stop - cols.start)

    def read_all(self) -> np.ndarray:
        planes = [self.read_plane(t, z) for t in range(self.n_t) for z in range(self.n_z)]
        full = np.stack(planes).reshape((self.n_t, self.n_z) + planes[0].shape)
        keep = tuple(0 if n == 1 else slice(None) for n in (self.n_t, self.n_z, planes[0].shape[0]))
        return np.ascontiguousarray(full[keep])

    def _read(self, t: int, z: int, y: int, x: int, h: int, w: int) -> np.ndarray:
        """(C, h, w): every channel of plane (t, z) at (y, x) of the scene, colour as RGB."""
        out = np.empty((self.channels * self.samples, h, w), self.dtype)
        if h == 0 or w == 0:
            return out
        roi = (self.area.x + x, self.area.y + y, w, h)
        for c in range(self.channels):
            plane = {"T": self.first["T"] + t, "Z": self.first["Z"] + z, "C": self.first["C"] + c}
            with self._lock:
                part = self.document.read(roi=roi, plane=plane, pixel_type=self.pixel_type)
            part = np.moveaxis(part.reshape(h, w, self.samples), -1, 0)
            out[c * self.samples:(c + 1) * self.samples] = part[::-1]   # BGR -> RGB; grey: itself
        return out

    def close(self) -> None:
        with self._lock:
            self.document.close()


def _check_declared(path: Path, pixels: int, channels: int, planes: int, itemsize: int) -> None:
    """StackError where the planes the file declares cannot fit in its bytes (core/tiff_sizes.py)."""
    size = path.stat().st_size
    if channels > MOST_CHANNELS:
        raise StackError(f"{path}: file is truncated or damaged (it declares {channels} channels)")
    plane = pixels * channels * itemsize   # what reading one plane allocates
    if implausible(plane, size):
        raise StackError(f"{path}: file is truncated or damaged (a {plane / 1e9:.1f} GB plane "
                         f"cannot fit in {size} bytes)")
    if implausible(plane * planes, size):
        raise StackError(f"{path}: file is truncated or damaged ({planes} planes, "
                         f"{plane * planes / 1e9:.1f} GB, cannot fit in {size} bytes)")


def _extent(box: dict, axis: str) -> int:
    start, stop = box.get(axis, (0, 1))
    return max(int(stop) - int(start), 1)


def _scaling(document) -> tuple[tuple[float, float] | None, float | None]:
    """((y, x) pixel size, z step) in µm from the file's scaling; None where it has none."""
    try:
        items = document.metadata["ImageDocument"]["Metadata"]["Scaling"]["Items"]["Distance"]
    except (KeyError, TypeError):
        return None, None
    items = items if isinstance(items, list) else [items]
    metres = {}
    for item in items:
        try:
            value = float(item["Value"])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(value) and value > 0:
            metres[item.get("@Id")] = value
    um = {axis: float(f"{value * 1e6:.12g}") for axis, value in metres.items()}   # no 0.19999999999999998
    return (um["Y"], um["X"]) if "X" in um and "Y" in um else None, um.get("Z")
