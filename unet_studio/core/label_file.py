"""Labels on disk: an ImageJ hyperstack TIFF (uint8) that Fiji and napari open directly.

Class names and colours, the axes and the shape travel in the ImageJ "Info" property as JSON:
  {"format": "unet_studio labels", "version": 1, "axes": "ZYX", "shape": [...],
   "classes": [{"name": "background", "color": [r, g, b]}, ...]}
ImageJ keeps "Info" when it re-saves a file, and tifffile reads it back. A labels TIFF without
this property (e.g. a mask drawn in Fiji) still loads, with generic class names.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from unet_studio.core.atomic import atomic_path
from unet_studio.core.errors import LabelsError
from unet_studio.core.stack import TIFF_MAGIC
from unet_studio.core.tiff_sizes import implausible
from unet_studio.core.label_classes import (
    MAX_CLASSES,
    LabelClass,
    classes_from_json,
    classes_to_json,
    generic_classes,
    pick_color,
)

FORMAT = "unet_studio labels"
SOFTWARE = "unet_studio"  # marks our files, so one whose metadata got damaged is not taken for a foreign mask
LABEL_AXES = "TZYX"


def check_axes(axes: str, ndim: int) -> str:
    """`axes` if it is an ordered subset of TZYX ending in YX with `ndim` letters."""
    axes = str(axes).upper()
    order = [LABEL_AXES.find(a) for a in axes]
    if (
        len(axes) != ndim
        or not axes.endswith("YX")
        or -1 in order
        or order != sorted(set(order))
    ):
        raise LabelsError(f"label axes must be one of YX, ZYX, TYX, TZYX matching the array, not {axes!r}")
    return axes


def write_labels(path: str | Path, data: np.ndarray, axes: str, classes: list[LabelClass]) -> None:
    """Write `data` (uint8, `axes`) with its classes to `path`, atomically.

    Raises LabelsError (one line) if the file cannot be written.
    """
    import tifffile

    path = Path(path)
    info = {
        "format": FORMAT,
        "version": 1,
        "axes": axes,
        "shape": list(data.shape),
        "classes": classes_to_json(classes),
    }
    try:
        with atomic_path(path) as tmp:
            # zlib level 1: labels are mostly zeros, so files shrink ~100x at little CPU cost,
            # which keeps autosave of big volumes quick. Fiji reads ZIP-compressed TIFF.
            tifffile.imwrite(
                tmp,
                np.ascontiguousarray(data, dtype=np.uint8),
                imagej=True,
                metadata={"axes": axes, "Info": json.dumps(info)},
                compression="zlib",
                compressionargs={"level": 1},
                software=SOFTWARE,
            )
    except OSError as e:
        reason = e.strerror or str(e)
        raise LabelsError(f"cannot save labels to {path}: {reason}") from e


def read_labels(
    path: str | Path, expect_shape: tuple[int, ...] | None = None
) -> tuple[np.ndarray, str, list[LabelClass]]:
    """Read a labels TIFF: (data uint8, axes, classes). LabelsError if it is damaged.

    expect_shape: the label shape of the image these labels belong to; a file of another
    shape raises LabelsError (a damaged header can make a file look smaller than it was).
    """
    import tifffile

    path = Path(path)
    name = path.name
    if not path.is_file():
        raise LabelsError(f"{name}: labels file not found")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as e:
        raise LabelsError(f"{name}: cannot be read as a labels file ({e.strerror or e})") from None
    if head and head[:4] not in TIFF_MAGIC:
        raise LabelsError(f"{name}: labels are read from TIFF files only; this one is not a TIFF "
                          "(save the labels as TIFF, e.g. in Fiji: File > Save As > Tiff)")
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            _check_size_before_decoding(series, path, expect_shape)
            data = series.asarray()
            series_axes = series.axes
            ij = tif.imagej_metadata or {}
            ours = tif.pages.first.software == SOFTWARE
    except LabelsError:
        raise
    except Exception as e:  # tifffile raises many kinds for damaged files
        raise LabelsError(f"{name}: cannot be read as a labels file ({_reason(e)})") from None
    if data.ndim < 2 or data.size == 0:
        raise LabelsError(f"{name}: the file holds no image")
    try:
        data, axes, classes = _labels_from(data, series_axes, ij, ours, name)
    except LabelsError:
        raise
    except Exception as e:  # a damaged header can yield odd shapes and axes
        raise LabelsError(f"{name}: cannot be read as a labels file ({_reason(e)})") from None
    if expect_shape is not None and tuple(data.shape) != tuple(expect_shape):
        raise LabelsError(
            f"{name}: labels of shape {tuple(data.shape)} do not fit the image's {tuple(expect_shape)}"
        )
    return data, axes, classes


def _check_size_before_decoding(series, path: Path, expect_shape) -> None:
    # A labels file is decoded whole: its size is checked first, so a damaged or forged
    # header cannot make a small file decode into gigabytes.
    shape = tuple(int(n) for n in series.shape)
    if expect_shape is not None and math.prod(shape) != math.prod(expect_shape):
        raise LabelsError(f"{path.name}: labels of shape {shape} do not fit the image's "
                          f"{tuple(expect_shape)}")
    if implausible(math.prod(shape) * np.dtype(series.dtype).itemsize, path.stat().st_size):
        raise LabelsError(f"{path.name}: cannot be read as a labels file (it declares {shape} "
                          "pixels, far more than the file can hold)")


def _reason(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _labels_from(data: np.ndarray, series_axes: str, ij: dict, ours: bool, name: str):
    info = _parse_info(ij.get("Info"))
    if info is None and ours:
        raise LabelsError(f"{name}: the class and axes information in the file is damaged")
    if info is not None:
        try:
            shape = tuple(int(n) for n in info["shape"])
            axes = check_axes(info["axes"], len(shape))
            classes = classes_from_json(info["classes"])
        except (KeyError, TypeError, ValueError, LabelsError) as e:
            raise LabelsError(f"{name}: the class and axes information in the file is damaged") from e
        if int(np.prod(shape)) != data.size:
            raise LabelsError(f"{name}: the pixel data does not match the size recorded in the file")
        data = data.reshape(shape)
    else:
        data, axes = _guess_axes(data, series_axes, name)
        classes = []

    data = _as_labels(data, name)
    top = int(data.max()) if data.size else 0
    if not classes:
        classes = generic_classes(max(top, 2))
    while len(classes) < top:
        # Never drop painted pixels because their class has no name: give it a generic one.
        used = [c.color for c in classes]
        classes.append(LabelClass(f"class {len(classes) + 1}", pick_color(used)))
    return data, axes, classes


def _parse_info(text: object) -> dict | None:
    if not isinstance(text, str):
        return None
    try:
        info = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(info, dict) and info.get("format") == FORMAT:
        return info
    return None


def _guess_axes(data: np.ndarray, series_axes: str, name: str) -> tuple[np.ndarray, str]:
    # A mask from another program: drop length-1 axes we do not use, then trust the
    # remaining axis letters if they fit, else read the dimensions as (T)(Z)YX.
    keep = [i for i, a in enumerate(series_axes) if a in LABEL_AXES or data.shape[i] > 1]
    axes = "".join(series_axes[i] for i in keep)
    data = data.reshape(tuple(data.shape[i] for i in keep))
    try:
        return data, check_axes(axes, data.ndim)
    except LabelsError:
        pass
    if not 2 <= data.ndim <= 4:
        raise LabelsError(f"{name}: a labels file must have 2 to 4 dimensions, this one has {data.ndim}")
    return data, LABEL_AXES[-data.ndim :]


def _as_labels(data: np.ndarray, name: str) -> np.ndarray:
    if data.dtype == np.bool_:
        return data.astype(np.uint8)
    if not np.issubdtype(data.dtype, np.integer):
        raise LabelsError(f"{name}: labels must be whole numbers, this file holds {data.dtype} values")
    if data.size and (int(data.min()) < 0 or int(data.max()) > MAX_CLASSES):
        raise LabelsError(f"{name}: label values must be 0 to {MAX_CLASSES}")
    return np.ascontiguousarray(data, dtype=np.uint8)


def peek_labels_shape(path: str | Path) -> tuple[int, ...] | None:
    """The label shape recorded in a labels file, read from its header; None if unknown."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            info = _parse_info((tif.imagej_metadata or {}).get("Info"))
            if info is not None:
                return tuple(int(n) for n in info["shape"])
            return tuple(int(n) for n in tif.series[0].shape)
    except Exception:  # damaged or missing: the caller decides without it
        return None
