"""The objects of a prediction as files, written plane by plane like the TIFF outputs
(workflow/export.py's writer table): `<stem>_objects.csv`, one row per object
(workflow/object_table.py), and `<stem>_rois.zip`, an ImageJ ROI set for Fiji's ROI Manager.

Each file takes one predicted plane at a time (`append`) and keeps only what it writes at the
end: the rows of the table, or the ROI outlines.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class ObjectsTable:
    """Rows of the objects of every plane, written as a CSV on close. `meta`: export.ExportMeta."""

    def __init__(self, path: Path, meta: Any):
        self.path, self.meta = Path(path), meta
        self.n_blocks = int(np.prod(meta.shape[:-2], dtype=np.int64))
        self.count = 0
        self._parts: list[dict] = []
        self._closed = False

    def append(self, plane: Any) -> None:
        """`plane`: export.PredictedPlane (its instances, image, probabilities and position)."""
        from unet_studio.workflow.object_table import object_table

        k = self.meta.object_class
        part = object_table(plane.instances(k, self.meta.object_size), "YX", image=plane.image,
                            probabilities=plane.probabilities, object_class=k,
                            class_name=self.meta.classes[k - 1], pixel_size=self.meta.calibration.pixel_size)
        part["t"] = np.full(len(part["id"]), plane.t if "T" in self.meta.axes else -1)
        part["z"] = np.full(len(part["id"]), plane.z if "Z" in self.meta.axes else -1)
        self._parts.append(part)
        self.count += 1

    def close(self) -> None:
        if self._closed or self.count < self.n_blocks:
            self._closed = True
            return
        from unet_studio.workflow.object_table import object_table, write_objects_csv

        self._closed = True
        parts = [p for p in self._parts if len(p["id"])] or self._parts[:1]
        if parts:
            table = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        else:
            table = object_table(np.zeros((1, 1), np.int32), "YX")
        write_objects_csv(self.path, table)


class ObjectOutlines:
    """ImageJ ROIs of the objects of every plane (with their z / t position), written on close."""

    def __init__(self, path: Path, meta: Any):
        self.path, self.meta = Path(path), meta
        self.n_blocks = int(np.prod(meta.shape[:-2], dtype=np.int64))
        self.count = 0
        self._rois: list = []
        self._closed = False

    def append(self, plane: Any) -> None:
        from unet_studio.workflow.object_table import plane_rois

        where = {a: {"T": plane.t, "Z": plane.z}[a] for a in self.meta.axes[:-2] if a in "TZ"}
        self._rois += plane_rois(plane.instances(self.meta.object_class, self.meta.object_size), where)
        self.count += 1

    def close(self) -> None:
        if self._closed or self.count < self.n_blocks:
            self._closed = True
            return
        import roifile

        self._closed = True
        roifile.roiwrite(self.path, self._rois, mode="w")   # no objects: an empty ROI set
