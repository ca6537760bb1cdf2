"""A folder of same-size TIFF files read as one Z stack (one file per slice).

Microscopes and older pipelines often save a stack as `img_000.tif, img_001.tif, ...`.
Files are ordered naturally (2 before 10); each must hold a single YX plane (or one plane
of channels), all with the same shape and pixel type. Only the file of a slice is read
when that slice is shown.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from unet_studio.core.errors import StackError


def natural_order(text: str) -> list:
    """A sort key putting `img2` before `img10`."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def natural_key(path: Path) -> list:
    return natural_order(path.name)


def tiff_files_in(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in (".tif", ".tiff")
             and not p.name.startswith(".")]
    return sorted(files, key=natural_key)


def open_folder(folder: Path):
    """Stack with axes ZYX (or ZCYX) from the TIFF files in `folder`."""
    from unet_studio.core.stack import Stack, open_stack

    files = tiff_files_in(folder)
    if not files:
        from unet_studio.core.project_file import is_project_folder

        if is_project_folder(folder):
            raise StackError(f"{folder}: a unet_studio project, not an image (the app opens it: "
                             "unet-studio FOLDER); give its images' files here")
        raise StackError(f"{folder}: the folder holds no TIFF files")
    first = open_stack(files[0])
    first.close()
    if first.n_t != 1 or first.n_z != 1:
        raise StackError(f"{files[0]}: holds more than one plane (shape {first.shape}); "
                         "a folder stack needs one plane per file")
    reader = _FolderReader(files, first.plane_shape, first.n_c, first.dtype)
    for path in files[1:]:
        reader.check(path)
    axes = "Z" + ("C" if first.n_c > 1 else "") + "YX"
    shape = (len(files),) + ((first.n_c,) if first.n_c > 1 else ()) + first.plane_shape
    if len(files) == 1:
        axes, shape = axes[1:], shape[1:]
    return Stack(path=folder, axes=axes, shape=shape, dtype=first.dtype,
                 pixel_size=first.pixel_size, z_spacing=None, unit=first.unit,
                 axes_inferred=True,
                 axes_note=f"Each of the folder's {len(files)} TIFF files was read as one Z slice, "
                           "in name order.",
                 name=folder.name, _reader=reader)


class _FolderReader:
    def __init__(self, files: list[Path], plane_shape, n_c: int, dtype: np.dtype):
        self.files, self.plane_shape, self.n_c, self.dtype = files, plane_shape, n_c, dtype

    def check(self, path: Path) -> None:
        from unet_studio.core.stack import open_stack

        other = open_stack(path)
        other.close()
        if (other.n_t, other.n_z, other.n_c, other.plane_shape, other.dtype) != \
                (1, 1, self.n_c, self.plane_shape, self.dtype):
            raise StackError(f"{path}: does not match the other files in the folder "
                             f"(shape {other.shape} {other.dtype.name}, expected "
                             f"{((self.n_c,) if self.n_c > 1 else ()) + tuple(self.plane_shape)} {self.dtype.name})")

    def read_plane(self, t: int, z: int) -> np.ndarray:
        from unet_studio.core.stack import open_stack

        with open_stack(self.files[z]) as stack:
            plane = stack.plane(0, 0)
        if plane.shape != (self.n_c,) + tuple(self.plane_shape):
            raise StackError(f"{self.files[z]}: changed since the folder was opened")
        return plane

    def read_all(self) -> np.ndarray:
        planes = np.stack([self.read_plane(0, z) for z in range(len(self.files))])
        if self.n_c == 1:
            planes = planes[:, 0]
        return planes if len(self.files) > 1 else planes[0]

    def close(self) -> None:
        pass
