"""Objects of a plane too large to hold, found window by window in its predicted mask.

predict_to_files sends the parts of such a plane (ml/plane_parts.py) to the mask and
probability files as they come, and here into two scratch files beside the outputs: the class
mask and the object class's probability (uncompressed TIFFs, removed at the end; a killed run's
are removed by the next run in that folder, workflow/output_set.py). Once the plane is
complete, its objects are found in windows of WINDOW x WINDOW px, each read with a margin of
two object diameters: an object belongs to the window that holds the first corner of its
bounding box, so each object is found once, and whole unless it is wider than the margin.
What a whole plane's split measures on the plane (ml/objects.py), the objects' diameter (unless
the user gives it) and how sure the surest objects are (the bar for dropping unsure ones), is
measured on SAMPLES x SAMPLES windows spread over the plane and used in every window. The app's
Objects panel splits a plane that large the same way (workflow/object_export.py).
"""
from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

WINDOW = 1024        # the side of the windows that split the plane (the margin comes on top)
SAMPLES = 4          # SAMPLES x SAMPLES windows measure the object size and the surest objects
SAMPLE_SIDE = 512
PREDICTING = 0.8     # the share of a plane's progress bar for its prediction, the rest for its objects


@dataclass
class ObjectsWindow:
    """The objects found in `rows` x `cols` of plane (t, z): `objects` (uint32, numbered across
    the plane, 0 where none of this window's objects is), `confidence` (the object class's
    probability there), `image` ((C, h, w), when a table needs intensities); `last`: the plane's
    objects are complete with it."""
    t: int
    z: int
    rows: slice
    cols: slice
    objects: np.ndarray
    confidence: np.ndarray
    image: np.ndarray | None
    last: bool


def _scratch(folder: Path, what: str, shape: tuple[int, int], dtype):
    """A (Y, X) scratch TIFF, written and read part by part (never mapped, so it does not count
    in the process's memory), named in the temporary pattern workflow/output_set.py's `recover`
    removes once its process is gone."""
    from unet_studio.core.tiff_writer import TiffPlanes

    name = f".{what}-scratch.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    return TiffPlanes(Path(folder) / name, shape, "YX", dtype)


def objects_in_parts(steps: Iterator[Any], stack, meta, folder: Path, *, image: bool,
                     part_item: Callable[[Any], Any], progress: Callable[[float], Any]) -> Iterator[Any]:
    """From predict_planes(in_parts=True) `steps`: each part as `part_item(part)` for the mask and
    probability files, progress as `progress(fraction)`, and after each plane its ObjectsWindows.
    meta: export.ExportMeta (object class, size, border class); image: read the image of each
    window (for the table's intensities)."""
    from unet_studio.ml.objects import border_pixels, kept_boundary

    k = meta.object_class
    height, width = stack.plane_shape
    n_planes = stack.n_t * stack.n_z
    mask = _scratch(folder, "mask", (height, width), np.uint8)
    probability = _scratch(folder, "probability", (height, width), np.float32)
    scratches = {"mask": mask, "probability": probability}
    boundary = None   # the starting model's boundary (ml/unet.py), where the model keeps it
    try:
        for step in steps:
            t, z = step.plane
            i = t * stack.n_z + z
            yield progress((i + PREDICTING * (step.fraction * n_planes - i)) / n_planes)
            if step.part is None:
                continue
            part = step.part
            yield part_item(part)
            # Never `last`: the next plane's parts write over this one's.
            mask.put(part.prediction.mask, part.rows, part.cols, last=False)
            probability.put(part.prediction.probabilities[k - 1], part.rows, part.cols, last=False)
            parting = kept_boundary(part.prediction.boundary, meta.border_class)
            if parting is not None:
                if boundary is None:
                    boundary = scratches["boundary"] = _scratch(folder, "boundary", (height, width), np.float32)
                boundary.put(parting, part.rows, part.cols, last=False)
            if not part.last:
                continue

            def read(rows: slice, cols: slice):
                classes = mask.get(rows, cols)
                return (classes == k, probability.get(rows, cols), border_pixels(classes, meta.border_class, k),
                        None if boundary is None else boundary.get(rows, cols))

            for done, window in windows(read, (height, width), *plane_measures(read, (height, width),
                                                                                meta.object_size)):
                window.t, window.z = t, z
                if image:
                    window.image = stack.region(t, z, window.rows, window.cols)
                yield window
                yield progress((i + PREDICTING + (1 - PREDICTING) * done) / n_planes)
    finally:
        for scratch in scratches.values():
            scratch.close()
            scratch.path.unlink(missing_ok=True)


def plane_measures(read: Callable[[slice, slice], tuple], shape: tuple[int, int],
                   object_size: float | None = None) -> tuple[float | None, float | None, bool]:
    """(object size, surest, along the boundary) of a plane of `shape`, measured on SAMPLES x
    SAMPLES windows spread over it (the size only where `object_size` is None): what every
    window then uses; along the boundary: whether objects part along the kept boundary the
    windows read (ml/objects.py's parting). read: as for `windows`. (None, None, False)
    where the samples hold no object."""
    from unet_studio.ml.objects import parting, surest_objects

    foreground, probability, boundary = _samples(read, shape)
    parts = parting(boundary, None, foreground, probability)
    size = object_size or parts.size
    return (size, surest_objects(foreground, probability, size, boundary=parts.boundary,
                                 parted_by=parts.parted_by) if size else None,
            parts.boundary is not None)


def windows(read: Callable[[slice, slice], tuple], shape: tuple[int, int], object_size: float | None,
            surest: float | None, along_boundary: bool = False) -> Iterator[tuple[float, ObjectsWindow]]:
    """The objects of a plane of `shape`, window by window: (fraction done, ObjectsWindow) with
    t = z = 0 and no image. read(rows, cols) -> (foreground, object probability, border pixels
    or None, the kept boundary or None) of that part of the plane; object_size, surest,
    along_boundary: plane_measures'. Windows without objects are left out, but the last."""
    from scipy import ndimage

    from unet_studio.ml.objects import find_objects

    height, width = shape
    margin = int(math.ceil(2 * object_size)) if object_size else 0
    corners = [(y, x) for y in range(0, height, WINDOW) for x in range(0, width, WINDOW)]
    next_id = 1
    for n, (y, x) in enumerate(corners, 1):
        core = (slice(y, min(y + WINDOW, height)), slice(x, min(x + WINDOW, width)))
        rows = slice(max(y - margin, 0), min(y + WINDOW + margin, height))
        cols = slice(max(x - margin, 0), min(x + WINDOW + margin, width))
        found, sure, borders, boundary = read(rows, cols)
        labels = find_objects(found, sure, object_size=object_size, borders=borders, surest=surest,
                              boundary=boundary if along_boundary else None) \
            if object_size else np.zeros(found.shape, np.int32)
        keep = np.zeros(int(labels.max()) + 1, np.uint32)
        for label, box in enumerate(ndimage.find_objects(labels), 1):
            if box is not None and _holds(core, box[0].start + rows.start, box[1].start + cols.start):
                keep[label] = next_id
                next_id += 1
        objects = keep[labels]
        last = n == len(corners)
        if objects.any() or last:
            yield n / len(corners), ObjectsWindow(0, 0, rows, cols, objects, sure, None, last)


def assembled(found: Iterator[tuple[float, ObjectsWindow]], shape: tuple[int, int]) -> np.ndarray:
    """The objects of `windows` placed in one (Y, X) uint32 plane (where one window's objects
    meet an earlier window's, the earlier keeps its pixels), for a plane that fits in memory."""
    plane = np.zeros(shape, np.uint32)
    for _, window in found:
        placed = plane[window.rows, window.cols]
        plane[window.rows, window.cols] = np.where(placed == 0, window.objects, placed)
    return plane


def _holds(core: tuple[slice, slice], y: int, x: int) -> bool:
    return core[0].start <= y < core[0].stop and core[1].start <= x < core[1].stop


def _samples(read, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """SAMPLES x SAMPLES windows spread over the plane, side by side with a background gap
    between them: (foreground, probability, boundary or None) of that mosaic."""
    height, width = shape
    side_y, side_x = min(SAMPLE_SIDE, height), min(SAMPLE_SIDE, width)
    across = SAMPLES if height > side_y or width > side_x else 1
    gap = 2
    foreground = np.zeros((across * (side_y + gap), across * (side_x + gap)), bool)
    probability = np.zeros(foreground.shape, np.float32)
    boundary = None
    for row, y in enumerate(np.linspace(0, height - side_y, across).astype(int)):
        for col, x in enumerate(np.linspace(0, width - side_x, across).astype(int)):
            found, sure, _, kept = read(slice(y, y + side_y), slice(x, x + side_x))
            at = (slice(row * (side_y + gap), row * (side_y + gap) + side_y),
                  slice(col * (side_x + gap), col * (side_x + gap) + side_x))
            foreground[at], probability[at] = found, sure
            if kept is not None:
                boundary = np.zeros(foreground.shape, np.float32) if boundary is None else boundary
                boundary[at] = kept
    return foreground, probability, boundary
