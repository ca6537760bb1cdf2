"""Objects of a predicted class, for one plane (the app's Objects panel) or a whole stack (File >
Export objects): ml/objects.py finds them, workflow/object_table.py measures and writes them.

One object size holds for a whole stack: given by the user, or measured over the object class
of every plane. Pixel sizes come from the image only when it has them (Calibration.of).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from unet_studio.core.errors import ModelError
from unet_studio.ml.objects import find_objects, measure_object_size
from unet_studio.workflow.export import Calibration
from unet_studio.workflow.object_table import (
    Table,
    object_table,
    write_imagej_rois,
    write_objects_csv,
)


@dataclass
class PlaneObjects:
    """The objects of one plane: labels (Y, X) int32 (0 = none), their table, and the object
    diameter in px they were split with (measured from the mask unless given)."""
    labels: np.ndarray
    table: Table
    object_size: float | None


def plane_objects(mask: np.ndarray, probabilities: np.ndarray | None, image: np.ndarray | None,
                  object_class: int, *, object_size: float | None = None,
                  pixel_size=None, class_name: str = "") -> PlaneObjects:
    """Find and measure the objects of class `object_class` (1-based) in one plane.

    mask: (Y, X) predicted classes 1..K; probabilities: (K, Y, X) or None; image: (C, Y, X) or
    (Y, X) intensities or None; object_size: diameter in px (None: measured from the mask);
    pixel_size: (y, x) µm per pixel or None (uncalibrated: no µm columns)."""
    foreground = np.asarray(mask) == object_class
    size = object_size if object_size is not None else measure_object_size(foreground)
    probability = None if probabilities is None else probabilities[object_class - 1]
    labels = find_objects(foreground, probability, object_size=size)
    table = object_table(labels, "YX", image=image, probabilities=probabilities,
                         object_class=object_class if probabilities is not None else None,
                         class_name=class_name, pixel_size=pixel_size)
    if probabilities is None:
        table["class"] = np.full(len(table["id"]), class_name or str(object_class), dtype=object)
    return PlaneObjects(labels, table, size)


@dataclass
class ObjectExportStep:
    """Progress of export_objects; `written` (the paths) on the last step."""
    fraction: float
    written: list[Path] | None = None


def export_objects(model, stack, object_class: int, *, csv_path: str | Path | None = None,
                   rois_path: str | Path | None = None, object_size: float | None = None,
                   device: Any = None) -> Iterator[ObjectExportStep]:
    """Predict every plane of `stack`, find the objects of `object_class` with one object size
    for the stack, and write their table (CSV, one row per object and plane) and/or their
    outlines (ImageJ ROI zip). Stop iterating to cancel: files are written only at the end."""
    from unet_studio.ml.predict import plane_index, predict_planes

    if not 1 <= object_class <= model.n_classes:
        raise ModelError(f"class {object_class} does not exist in this model (1..{model.n_classes})")
    axes, shape = stack.label_axes, tuple(stack.label_shape)
    foreground = np.zeros(shape, bool)
    probability = np.zeros(shape, np.float16)   # of the object class, kept for the split
    for step in predict_planes(model, stack, device=device):
        yield ObjectExportStep(0.8 * step.fraction)
        if step.prediction is not None:
            index = plane_index(axes, *step.plane)
            foreground[index] = step.prediction.mask == object_class
            probability[index] = step.prediction.probabilities[object_class - 1]
    size = object_size if object_size is not None else measure_object_size(foreground)
    instances = np.zeros(shape, np.int32) if rois_path is not None else None   # the ROIs' outlines
    parts = []
    planes = [(t, z) for t in range(stack.n_t) for z in range(stack.n_z)]
    for i, (t, z) in enumerate(planes):
        index = plane_index(axes, t, z)
        labels, table = _plane_objects(stack, (t, z), foreground[index], probability[index],
                                       size, object_class, model.classes[object_class - 1])
        parts.append(table)
        if instances is not None:
            instances[index] = labels
        yield ObjectExportStep(0.8 + 0.2 * (i + 1) / len(planes))
    written = []
    if csv_path is not None:
        written.append(write_objects_csv(csv_path, _joined(parts)))
    if rois_path is not None:
        written.append(write_imagej_rois(rois_path, instances, axes))
    yield ObjectExportStep(1.0, written)


def _plane_objects(stack, plane: tuple[int, int], foreground, probability, size, object_class,
                   class_name) -> tuple[np.ndarray, Table]:
    """(labels, table) of plane (t, z), split with the stack's object size."""
    t, z = plane
    prob = np.asarray(probability, np.float32)
    labels = find_objects(foreground, prob, object_size=size) if size is not None \
        else np.zeros(foreground.shape, np.int32)
    table = object_table(labels, "YX", image=stack.plane(t, z), probabilities=prob[None],
                         object_class=1, class_name=str(class_name),
                         pixel_size=Calibration.of(stack).pixel_size)
    table["t"] = np.full(len(table["id"]), t if "T" in stack.label_axes else -1)
    table["z"] = np.full(len(table["id"]), z if "Z" in stack.label_axes else -1)
    return labels, table


def _joined(parts: list[Table]) -> Table:
    """One table from the planes' tables (planes without objects add no rows)."""
    full = [p for p in parts if len(p["id"])]
    if not full:
        return parts[0] if parts else {"id": np.zeros(0)}
    return {key: np.concatenate([p[key] for p in full]) for key in full[0]}
