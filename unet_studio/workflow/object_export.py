"""The objects of a predicted class in one plane, found and measured (the app's Objects panel):
ml/objects.py finds them, workflow/object_table.py measures them. A whole stack's objects are
written by workflow/export.py (OBJECTS and ROIS), the same way for the app and the CLI.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from unet_studio.core.stack import plane_in_parts
from unet_studio.ml.objects import border_pixels, find_objects, kept_boundary, parting
from unet_studio.ml.uncounted import uncounted_pieces
from unet_studio.workflow.object_table import Table, object_table
from unet_studio.workflow.objects_in_parts import assembled, plane_measures, windows


@dataclass
class PlaneObjects:
    """The objects of one plane: labels (Y, X) int32 (0 = none), their table, the object
    diameter in px they were split with (measured from the mask unless given), and the pieces
    of the class's mask as large as an object that none holds (ml/uncounted.py), with their number."""
    labels: np.ndarray
    table: Table
    object_size: float | None
    uncounted: np.ndarray | None = None
    n_uncounted: int = 0


def plane_objects(mask: np.ndarray, probabilities: np.ndarray | None, image: np.ndarray | None,
                  object_class: int, *, object_size: float | None = None,
                  pixel_size=None, class_name: str = "", border_class: int | None = None,
                  boundary: np.ndarray | None = None) -> PlaneObjects:
    """Find and measure the objects of class `object_class` (1-based) in one plane.

    mask: (Y, X) predicted classes 1..K; probabilities: (K, Y, X) or None; image: (C, Y, X) or
    (Y, X) intensities or None; object_size: diameter in px (None: measured from the mask);
    pixel_size: (y, x) µm per pixel or None (uncalibrated: no µm columns); border_class: the
    class of the borders between touching objects, which they grow into (None: none);
    boundary: (Y, X) the starting model's boundary the prediction kept (ml/predict.py), or None."""
    foreground = np.asarray(mask) == object_class
    probability = None if probabilities is None else probabilities[object_class - 1]
    if probability is not None and plane_in_parts(foreground.shape):
        # The way an export finds the objects of a plane this large (workflow/objects_in_parts.py).
        kept = kept_boundary(boundary, border_class)

        def read(rows, cols):
            return (foreground[rows, cols], probability[rows, cols],
                    border_pixels(mask[rows, cols], border_class, object_class),
                    None if kept is None else kept[rows, cols])

        measured = plane_measures(read, foreground.shape, object_size)
        size = measured[0]
        labels = assembled(windows(read, foreground.shape, *measured), foreground.shape).astype(np.int32)
    else:
        parts = parting(boundary, border_class, foreground, probability)
        size = object_size if object_size is not None else parts.size
        labels = find_objects(foreground, probability, object_size=size,
                              borders=border_pixels(mask, border_class, object_class), boundary=parts.boundary,
                              parted_by=parts.parted_by)
    table = object_table(labels, "YX", image=image, probabilities=probabilities,
                         object_class=object_class if probabilities is not None else None,
                         class_name=class_name, pixel_size=pixel_size)
    if probabilities is None:
        table["class"] = np.full(len(table["id"]), class_name or str(object_class), dtype=object)
    return PlaneObjects(labels, table, size, *uncounted_pieces(foreground, labels, size))
