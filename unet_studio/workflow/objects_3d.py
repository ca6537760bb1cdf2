"""Objects that span the slices of a Z stack: one id for a nucleus seen in five slices, one row
in the table with its volume (`predict --instances --objects-3d`, the Objects panel's "Join
slices into 3-D objects", in its view and in exports).

The predicted planes of one time point are gathered, their objects found once in 3-D
(ml/objects.py, with the slices' distance in pixels so a ball is a ball), and each plane is
handed on with its slice of those objects: the instances file and the ROI set are written
slice by slice like per-plane objects, and the table measures each object over its volume.

A time point's probabilities are held at once (per-plane objects hold one plane), so the size
is checked before any work.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from unet_studio.core.errors import UnetStudioError
from unet_studio.workflow.memory import share_of, too_much

# Bytes held per voxel of a time point: the probabilities (4 per map) and, while splitting,
# the mask, distances, smoothed heights, seeds and labels.
BYTES_PER_VOXEL = 40


class VolumeTooLarge(UnetStudioError):
    """A volume whose objects cannot be found in 3-D in the memory this machine has."""


def z_step_px(calibration: Any) -> float:
    """The distance between slices in pixels: the Z spacing over the pixel size (export_meta's
    Calibration); 1 (slices as far apart as pixels) when the image does not say."""
    if calibration.z_spacing and calibration.pixel_size:
        return float(calibration.z_spacing) / float(np.mean(calibration.pixel_size))
    return 1.0


def check_fits(shape: tuple[int, ...], n_maps: int, free: int | None = None) -> None:
    """VolumeTooLarge unless one time point of label `shape` (..., Z, Y, X) with `n_maps`
    probability maps (the classes' and the kept starting model's boundary: UNet.n_outputs)
    fits in the free memory (workflow/memory.py; `free` bytes, None: measured)."""
    voxels = int(np.prod(shape[-3:], dtype=np.int64))
    need = voxels * (BYTES_PER_VOXEL + 4 * n_maps)
    free = too_much(need, free)
    if free is not None:
        raise VolumeTooLarge(f"3-D objects of a {' x '.join(map(str, shape[-3:]))} volume need about "
                             f"{need / 2**30:.1f} GB of memory, {share_of(free)}; "
                             f"find the objects per plane instead")


def joined_across_slices(items: Iterable[Any], meta: Any, n_z: int) -> Iterator[Any]:
    """`items` (export.py's PredictedPlane items of every (t, z) in order, and progress items,
    passed on at once) with each plane's objects set to its slice of the objects of its time
    point found in 3-D. meta: export_meta.ExportMeta (class, size, border class, calibration)."""
    held: list = []
    for item in items:
        if not hasattr(item, "set_objects"):
            yield item
            continue
        held.append(item)
        if len(held) == n_z:
            volume, _ = volume_objects([p.prediction for p in held], meta)
            for plane, labels in zip(held, volume):
                plane.set_objects(meta, labels)
                yield plane
            held = []


def volume_objects(predictions: list, meta: Any) -> tuple[np.ndarray, float | None]:
    """(Z, Y, X) int32 objects of meta's class across the slices of `predictions` (one per slice,
    ml/predict.py's Prediction), one id each, grown into the border class if there is one, and
    the diameter (px) they were split with: meta's, else measured on the volume."""
    from unet_studio.ml.objects import border_pixels, find_objects, parting

    k, z_step = meta.object_class, z_step_px(meta.calibration)
    mask = np.stack([p.mask for p in predictions])
    probability = np.stack([p.probabilities[k - 1] for p in predictions])
    kept = [p.boundary for p in predictions]
    parts = parting(None if any(b is None for b in kept) else np.stack(kept), meta.border_class,
                    mask == k, probability, z_step)
    size = meta.object_size or parts.size
    return find_objects(mask == k, probability, object_size=size, z_spacing=z_step,
                        borders=border_pixels(mask, meta.border_class, k), boundary=parts.boundary,
                        parted_by=parts.parted_by), size


@dataclass
class TimePointObjects:
    """The 3-D objects of one time point: `labels` (Z, Y, X) int32, one id across slices; their
    `table` (object_table, one row each, measured over its volume) and the diameter (px) they
    were split with; the pieces of the class's mask as large as an object that none holds
    (ml/uncounted.py, in 3-D) and their number."""
    labels: np.ndarray
    table: dict
    object_size: float | None
    uncounted: np.ndarray | None = None
    n_uncounted: int = 0


def time_point_objects(model, stack, t: int, object_class: int, object_size: float | None = None,
                       device: Any = None) -> Iterator[float | TimePointObjects]:
    """The Objects panel's 3-D objects of time point t: every slice predicted with `model` and
    split in 3-D as an export with 3-D objects does, yielding the fraction done while slices are
    predicted, then TimePointObjects. VolumeTooLarge before any work where it does not fit."""
    from unet_studio.ml.predict import predict_planes
    from unet_studio.ml.uncounted import uncounted_pieces
    from unet_studio.workflow.export_meta import ExportMeta
    from unet_studio.workflow.object_table import object_table

    check_fits(tuple(stack.label_shape), model.n_outputs)
    meta = ExportMeta.of(stack, model.classes, object_class, object_size, objects_3d=True)
    predictions, images = [], []
    for step in predict_planes(model, stack, planes=[(t, z) for z in range(stack.n_z)]):
        if step.prediction is None:
            yield step.fraction
        else:
            predictions.append(step.prediction)
            images.append(step.image)
    k = object_class
    labels, size = volume_objects(predictions, meta)
    images = np.stack(images)
    probabilities = np.stack([p.probabilities for p in predictions])
    table = object_table(labels, "ZYX", image=images, probabilities=probabilities, object_class=k,
                         class_name=meta.classes[k - 1], pixel_size=meta.calibration.voxel_size_um, in_3d=True)
    mask = np.stack([p.mask for p in predictions]) == k
    yield TimePointObjects(labels, table, size, *uncounted_pieces(mask, labels, size, z_step_px(meta.calibration)))
