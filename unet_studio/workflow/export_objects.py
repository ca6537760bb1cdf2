"""The objects of a prediction as files, written plane by plane like the TIFF outputs
(workflow/export.py's writer table): `<stem>_objects.csv`, one row per object
(workflow/object_table.py), and `<stem>_rois.zip`, an ImageJ ROI set for Fiji's ROI Manager.

Each file takes one predicted plane at a time (`append`), or the windows of a plane too large to
hold (`add_window`), and keeps only what it writes at the end: the rows of the table, or the ROI
outlines.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class _ObjectsFile:
    """What both object files share: one append per (t, z) plane, written on close once every
    plane came (an unfinished file writes nothing). `meta`: export.ExportMeta."""

    def __init__(self, path: Path, meta: Any):
        self.path, self.meta = Path(path), meta
        self.n_blocks = int(np.prod(meta.shape[:-2], dtype=np.int64))
        self.count = 0
        self._closed = False

    def _objects(self, plane: Any) -> np.ndarray:
        return plane.objects(self.meta)

    def _where(self, plane: Any) -> dict[str, int]:
        """The plane's 0-based position on the axes the image has ({"T": t, "Z": z})."""
        return {a: {"T": plane.t, "Z": plane.z}[a] for a in self.meta.axes[:-2] if a in "TZ"}

    def close(self) -> None:
        complete = not self._closed and self.count == self.n_blocks
        self._closed = True
        if complete:
            self._write()

    def _write(self) -> None:
        raise NotImplementedError


class ObjectsTable(_ObjectsFile):
    """Rows of the objects of every plane, written as a CSV; objects that span the slices
    (meta.objects_3d) are measured over their volume, one row each, once a time point's slices
    have all come."""

    def __init__(self, path: Path, meta: Any):
        super().__init__(path, meta)
        self._parts: list[dict] = []
        self._slices: list = []   # 3-D: the planes of the time point so far

    def append(self, plane: Any) -> None:
        """`plane`: export.PredictedPlane (its objects, image, probabilities and position)."""
        if self.meta.objects_3d:
            self._slices.append(plane)
            if len(self._slices) == self.meta.shape[-3]:
                self._add(self._volume_part(self._slices), {"T": plane.t} if "T" in self.meta.axes else {})
                self._slices = []
        else:
            self._add(self._part(self._objects(plane), "YX", plane.image, self._confidence(plane),
                                 self.meta.calibration.pixel_size_um), self._where(plane))
        self.count += 1

    def add_window(self, window: Any) -> None:
        """The objects of one window of a plane too large to hold (objects_in_parts.ObjectsWindow),
        measured there and placed in the plane."""
        part = self._part(window.objects, "YX", window.image, window.confidence[None],
                          self.meta.calibration.pixel_size_um)
        for axis, start in (("y", window.rows.start), ("x", window.cols.start)):
            for key in (f"centroid_{axis}", f"bbox_{axis}0", f"bbox_{axis}1"):
                part[key] = part[key] + start
        self._add(part, self._where(window))
        self.count += window.last

    def _confidence(self, plane: Any) -> np.ndarray:
        """(1, Y, X): the probability of the objects' class."""
        k = self.meta.object_class
        return plane.probabilities[k - 1: k]

    def _volume_part(self, planes: list) -> dict:
        images = None if planes[0].image is None else np.stack([p.image for p in planes])
        return self._part(np.stack([self._objects(p) for p in planes]), "ZYX", images,
                          np.stack([self._confidence(p) for p in planes]), self.meta.calibration.voxel_size_um,
                          in_3d=True)

    def _part(self, labels, axes: str, image, confidence, pixel_size, in_3d: bool = False) -> dict:
        """The rows of `labels`; confidence: the probability of their class, axes[:-2] + (1, Y, X)."""
        from unet_studio.workflow.object_table import object_table

        return object_table(labels, axes, image=image, probabilities=confidence, object_class=1,
                            class_name=self.meta.classes[self.meta.object_class - 1],
                            pixel_size=pixel_size, in_3d=in_3d)

    def _add(self, part: dict, where: dict[str, int]) -> None:
        """A plane's (or a volume's) rows, with their t and z (-1: no such axis, or spanned)."""
        part["t"] = np.full(len(part["id"]), where.get("T", -1))
        part["z"] = np.full(len(part["id"]), where.get("Z", -1))
        self._parts.append(part)

    def _write(self) -> None:
        from unet_studio.workflow.object_table import write_objects_csv

        parts = [p for p in self._parts if len(p["id"])] or self._parts[:1]
        write_objects_csv(self.path, {key: np.concatenate([p[key] for p in parts]) for key in parts[0]})


class ObjectOutlines(_ObjectsFile):
    """ImageJ ROIs of the objects of every plane, with their z / t position."""

    def __init__(self, path: Path, meta: Any):
        super().__init__(path, meta)
        self._rois: list = []

    def append(self, plane: Any) -> None:
        from unet_studio.workflow.object_table import plane_rois

        self._rois += plane_rois(self._objects(plane), self._where(plane))
        self.count += 1

    def add_window(self, window: Any) -> None:
        """The outlines of one window's objects (objects_in_parts.ObjectsWindow), placed in the plane."""
        from unet_studio.workflow.object_table import plane_rois

        self._rois += plane_rois(window.objects, self._where(window), (window.rows.start, window.cols.start))
        self.count += window.last

    def _write(self) -> None:
        import roifile

        roifile.roiwrite(self.path, self._rois, mode="w")   # no objects: an empty ROI set
