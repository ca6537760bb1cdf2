"""An image stack with named axes (T, Z, C, Y, X), read lazily one plane at a time.

`open_stack(path)` reads TIFF (plain multi-page, ImageJ hyperstack, OME-TIFF, BigTIFF, RGB/RGBA),
PNG/JPEG, OME-Zarr (core/stack_zarr.py), Zeiss CZI (core/stack_czi.py, with pylibCZIrw), or a
folder of same-size TIFFs (one Z slice per file). Whatever goes wrong, it raises StackError with
one line naming the file and the reason in plain words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unet_studio.core.errors import StackError
from unet_studio.core.stack_axes import AXES, AxisMap, map_axes

TIFF_SUFFIXES = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".btf", ".tf8", ".tf2")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# What the name of an image (file or OME-Zarr folder) ends in, longest first: taken off to name
# what belongs to it (its project folder, its outputs).
IMAGE_ENDINGS = (".ome.tiff", ".ome.tif", ".ome.zarr", ".tiff", ".tif", ".btf", ".tf8", ".tf2",
                 ".zarr", ".png", ".jpeg", ".jpg", ".bmp", ".gif", ".czi")
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PICTURE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"GIF87a", b"GIF89a")
# A plane of more pixels than this is read and predicted in parts (Stack.read_in_parts): it may
# not fit in memory, and predicting it whole takes ~40 bytes per pixel.
WHOLE_PLANE_PIXELS = 4096 * 4096
# Pixel types the rest of the program can show, label and train on.
_SUPPORTED_KINDS = "biuf"


@dataclass
class Stack:
    """An n-D image: `axes` is a subset of "TZCYX" in that order, always ending in "YX"."""

    path: Path | None
    axes: str
    shape: tuple[int, ...]
    dtype: np.dtype
    pixel_size: tuple[float, float] | None = None   # (y, x) in `unit`
    z_spacing: float | None = None
    unit: str = ""
    axes_inferred: bool = False
    axes_note: str = ""
    name: str = ""
    scenes: int = 1        # the scenes of the file (positions, wells; CZI) open_stack can open
    scene: int | None = None   # which of them this is (from 0; None: a file of one)
    channel_names: tuple[str, ...] = ()   # what the file calls its channels (core/channel_names.py)
    _reader: Any = field(default=None, repr=False, compare=False)

    @property
    def n_t(self) -> int:
        return self._size("T")

    @property
    def n_z(self) -> int:
        return self._size("Z")

    @property
    def n_c(self) -> int:
        return self._size("C")

    @property
    def plane_shape(self) -> tuple[int, int]:
        return (self._size("Y"), self._size("X"))

    @property
    def read_in_parts(self) -> bool:
        """Whether a plane is too large to read whole (more than WHOLE_PLANE_PIXELS): the
        prediction and its files then go part by part (Stack.region)."""
        return plane_in_parts(self.plane_shape)

    @property
    def label_axes(self) -> str:
        return self.axes.replace("C", "")

    @property
    def label_shape(self) -> tuple[int, ...]:
        return tuple(n for a, n in zip(self.axes, self.shape) if a != "C")

    def _size(self, axis: str) -> int:
        return self.shape[self.axes.index(axis)] if axis in self.axes else 1

    def plane(self, t: int = 0, z: int = 0) -> np.ndarray:
        """(C, Y, X) array of plane (t, z); C is 1 when the stack has no channels.
        Reads only that plane from disk. Raises StackError if the file cannot be read."""
        t, z = int(t), int(z)
        if not (0 <= t < self.n_t and 0 <= z < self.n_z):
            raise IndexError(f"plane (t={t}, z={z}) is outside {self.n_t} x {self.n_z}")
        self._check_open()
        try:
            return self._reader.read_plane(t, z)
        except StackError:
            raise
        except Exception as error:  # noqa: BLE001 - any reader failure is a bad file
            raise StackError(_message(self.path or self.name, error)) from error

    def region(self, t: int, z: int, rows: slice, cols: slice) -> np.ndarray:
        """(C, h, w) array of `rows` x `cols` (slices with a step of 1) of plane (t, z),
        reading only that part where the file allows (memory-mapped or chunked data: a plane
        too large to hold is read so); otherwise the plane is read and cut."""
        rows, cols = _within(rows, self.plane_shape[0]), _within(cols, self.plane_shape[1])
        read_region = getattr(self._reader, "read_region", None)
        if read_region is None:
            return np.ascontiguousarray(self.plane(t, z)[:, rows, cols])
        t, z = int(t), int(z)
        if not (0 <= t < self.n_t and 0 <= z < self.n_z):
            raise IndexError(f"plane (t={t}, z={z}) is outside {self.n_t} x {self.n_z}")
        self._check_open()
        try:
            return read_region(t, z, rows, cols)
        except StackError:
            raise
        except Exception as error:  # noqa: BLE001 - any reader failure is a bad file
            raise StackError(_message(self.path or self.name, error)) from error

    def read(self) -> np.ndarray:
        """The whole array with `shape`, in `axes` order (may be large)."""
        self._check_open()
        try:
            return self._reader.read_all()
        except StackError:
            raise
        except Exception as error:  # noqa: BLE001
            raise StackError(_message(self.path or self.name, error)) from error

    def close(self) -> None:
        """Release the open file (the stack cannot be read afterwards)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _check_open(self) -> None:
        if self._reader is None:
            raise StackError(f"{self.path or self.name}: the image was closed")

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def from_array(cls, data: np.ndarray, axes: str, **meta) -> "Stack":
        """An in-memory stack; `data` has `axes` (a subset of TZCYX in that order)."""
        data = np.asarray(data)
        axes = axes.upper()
        if data.ndim != len(axes) or not _is_canonical(axes):
            raise ValueError(f"axes {axes!r} must be an ordered subset of {AXES} ending in YX "
                             f"with one letter per dimension of shape {data.shape}")
        check_dtype(data.dtype, meta.get("name", "array"))
        amap = map_axes(axes, data.shape)
        meta.setdefault("name", "untitled")
        return cls(path=None, axes=amap.axes, shape=amap.shape, dtype=data.dtype,
                   _reader=_ArrayReader(data, amap), **meta)


def open_stack(path: str | Path, scene: int = 0) -> Stack:
    """Open an image file (or a folder of TIFFs) lazily; of a file of several scenes (Stack.scenes),
    scene `scene` (from 0). Raises StackError only."""
    path = Path(path)
    try:
        stack = _open(path, scene)
        if scene and stack.scenes == 1:
            stack.close()
            raise StackError(f"{path}: holds 1 scene(s), not scene {scene + 1}")
        return stack
    except StackError:
        raise
    except Exception as error:  # noqa: BLE001 - promise: only StackError escapes
        raise StackError(_message(path, error)) from error


def image_stem(path: Path | str) -> str:
    """A file's name without its image endings: `cells.ome.tif` -> `cells`."""
    name = Path(path).name
    for ending in IMAGE_ENDINGS:
        if name.lower().endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)]
    return Path(name).stem or name


def scene_stem(path: Path | str, scene: int | None) -> str:
    """The name a scene's files start with (outputs, labels): `cells`, `plate_scene3`."""
    return image_stem(path) + scene_suffix(scene)


def scene_suffix(scene: int | None) -> str:
    """What the names of a scene's files add to the image's: `_scene3` (none for a file of one)."""
    return "" if scene is None else f"_scene{scene + 1}"


def scene_name(path: Path, scene: int | None) -> str:
    """An image in the user's words: `cells.tif`, `plate.czi, scene 3` (scene from 0; None: a file
    of one)."""
    return path.name if scene is None else f"{path.name}, scene {scene + 1}"


def scene_naming(path: Path, scene: int, scenes: int) -> tuple[str, int | None, str]:
    """(Stack.name, Stack.scene, a note for Stack.axes_note) of scene `scene` (from 0) of the file
    at `path`, which holds `scenes`."""
    if scenes == 1:
        return path.name, None, ""
    return (scene_name(path, scene), scene,
            f"The file holds {scenes} scenes (wells, positions), each an image of its own (in a "
            f"project, and in predict's files); this is scene {scene + 1}.")


def scenes_in(path: str | Path) -> int:
    """How many scenes the image at `path` holds (Stack.scenes: 1 but for a CZI or OME-TIFF of
    several; read from its header, a TIFF's first page only). StackError where it cannot be read."""
    path = Path(path)
    try:
        if path.is_file() and _head(path)[:4] in TIFF_MAGIC:
            from unet_studio.core.stack_tiff import tiff_scenes
            return tiff_scenes(path)
    except StackError:
        raise
    except Exception as error:  # noqa: BLE001 - any reader failure is a bad file
        raise StackError(_message(path, error)) from error
    with open_stack(path) as stack:
        return stack.scenes


def _open(path: Path, scene: int) -> Stack:
    if not path.exists():
        raise StackError(f"{path}: no such file")
    if path.is_dir():
        from unet_studio.core.stack_zarr import is_ome_zarr, open_ome_zarr
        if is_ome_zarr(path):
            return open_ome_zarr(path)
        if path.name.lower().endswith(".zarr"):
            raise StackError(f"{path}: not an OME-Zarr image (no multiscales metadata)")
        from unet_studio.core.stack_folder import open_folder
        return open_folder(path)
    size = path.stat().st_size
    if size == 0:
        raise StackError(f"{path}: file is empty")
    head = _head(path)
    if head[:4] in TIFF_MAGIC:
        return _open_tiff(path, scene)
    if head.startswith(_PICTURE_MAGIC):
        from unet_studio.core.stack_picture import open_picture
        return open_picture(path)
    if head.startswith(b"ZISRAWFI"):
        from unet_studio.core.stack_czi import open_czi
        return open_czi(path, scene)
    if (other := _other_microscope_file(path, head)) is not None:
        raise StackError(f"{path}: a {other} file, which is not read here: save it as OME-TIFF "
                         "(Fiji: File > Import > Bio-Formats, then File > Save As > OME-TIFF)")
    if path.name.lower().endswith(TIFF_SUFFIXES):
        raise StackError(f"{path}: not a TIFF file (it does not start like one)")
    raise StackError(f"{path}: not a TIFF file (nor a PNG, JPEG, BMP or GIF picture)")


def _head(path: Path) -> bytes:
    """The first bytes of a file, which say what kind it is."""
    with open(path, "rb") as fh:
        return fh.read(8)


def is_image_head(head: bytes) -> bool:
    """Whether a file starting with `head` (its first 8 bytes) is an image file read here."""
    return head[:4] in TIFF_MAGIC or head.startswith(_PICTURE_MAGIC) or head.startswith(b"ZISRAWFI")


def _other_microscope_file(path: Path, head: bytes) -> str | None:
    """The kind of a microscope vendor's file not read here (Nikon, Leica, Olympus, ...)."""
    if head.startswith(b"\xda\xce\xbe\x0a") or path.suffix.lower() == ".nd2":
        return "Nikon ND2"
    if path.suffix.lower() in (".lif", ".lof", ".lifext"):
        return "Leica LIF"
    names = {".oib": "Olympus OIB", ".oir": "Olympus OIR", ".vsi": "Olympus VSI", ".ims": "Imaris",
             ".ics": "ICS", ".dv": "DeltaVision", ".sld": "SlideBook"}
    return names.get(path.suffix.lower())


def _open_tiff(path: Path, scene: int) -> Stack:
    from unet_studio.core.stack_tiff import TiffPlanes

    planes = TiffPlanes(path, scene)
    try:
        check_dtype(planes.source_dtype, path)
        amap = planes.axis_map()
        if 0 in amap.shape:
            raise StackError(f"{path}: the image has no pixels (shape {amap.shape})")
        pixel_size, z_spacing, unit = planes.metadata()
        name, scene_or_none, extra = scene_naming(path, scene, planes.scenes)
        if planes.series_count > planes.scenes:
            extra = f"The file holds {planes.series_count} images; only the first is shown."
        note = f"{amap.note} {extra}".strip()
    except BaseException:
        planes.close()
        raise
    stack = Stack(path=path, axes=amap.axes, shape=amap.shape,
                  dtype=planes.source_dtype.newbyteorder("="), pixel_size=pixel_size,
                  z_spacing=z_spacing if "Z" in amap.axes else None, unit=unit,
                  axes_inferred=amap.inferred, axes_note=note, name=name, scenes=planes.scenes,
                  scene=scene_or_none, _reader=_TiffReader(planes, amap))
    stack.channel_names = planes.channel_names(stack.n_c)
    return stack


class _TiffReader:
    def __init__(self, planes, amap: AxisMap):
        self.planes, self.amap = planes, amap

    def read_plane(self, t: int, z: int) -> np.ndarray:
        return self.planes.read_plane(self.amap, t, z)

    def read_region(self, t: int, z: int, rows: slice, cols: slice) -> np.ndarray:
        return self.planes.read_region(self.amap, t, z, rows, cols)

    def read_all(self) -> np.ndarray:
        return self.planes.read_all(self.amap)

    def close(self) -> None:
        self.planes.close()


class _ArrayReader:
    def __init__(self, data: np.ndarray, amap: AxisMap):
        self.data, self.amap = data, amap

    def read_plane(self, t: int, z: int) -> np.ndarray:
        return np.array(self.amap.to_plane(self.data[self.amap.plane_index(t, z)]))

    def read_region(self, t: int, z: int, rows: slice, cols: slice) -> np.ndarray:
        return np.array(self.amap.to_region(self.data[self.amap.region_index(t, z, rows, cols)]))

    def read_all(self) -> np.ndarray:
        return self.amap.to_canonical(self.data)

    def close(self) -> None:
        pass


def plane_in_parts(plane_shape: tuple[int, int]) -> bool:
    """Whether a plane of (Y, X) `plane_shape` is too large to read whole (WHOLE_PLANE_PIXELS):
    it is predicted, written and split into objects part by part."""
    return int(plane_shape[0]) * int(plane_shape[1]) > WHOLE_PLANE_PIXELS


def _within(part: slice, length: int) -> slice:
    start, stop, step = part.indices(length)
    if step != 1:
        raise ValueError("a region is read with a step of 1")
    return slice(start, max(start, stop))


def _is_canonical(axes: str) -> bool:
    positions = [AXES.find(a) for a in axes]
    return (axes.endswith("YX") and -1 not in positions
            and positions == sorted(set(positions)))


def check_dtype(dtype: np.dtype, where) -> None:
    dtype = np.dtype(dtype)
    if dtype.kind not in _SUPPORTED_KINDS or dtype.itemsize > 8 or dtype.fields:
        raise StackError(f"{where}: unsupported pixel type {dtype.name}")


def _message(path, error: BaseException) -> str:
    """One plain line for an unexpected failure while reading `path`."""
    if isinstance(error, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(error, PermissionError):
        return f"{path}: permission denied"
    if isinstance(error, IsADirectoryError):
        return f"{path}: is a folder, not a file"
    if isinstance(error, MemoryError):
        return f"{path}: file is truncated or damaged (it asks for more memory than there is)"
    # The file started like a TIFF (or PNG/JPEG), so anything else the reader trips over
    # means its contents are broken; the library's own words go in brackets for experts.
    reason = "file is truncated or damaged"
    detail = " ".join(re.sub(r"<[^>]*>", "", str(error)).split())
    detail = detail.replace(str(path), "").strip(" :")
    if detail:
        reason += f" ({detail[:160]})"
    return f"{path}: {reason}"
