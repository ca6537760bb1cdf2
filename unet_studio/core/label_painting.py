"""Painting on a LabelVolume: discs, gap-free lines, flood fill, erasing.

A mixin so labels.py stays about what labels are (data, classes, history, events) and this
file about how a brush changes them. It uses the volume's plane_view, stroke(), version,
_recorder, _changed and class count.
"""
from __future__ import annotations

import numpy as np

from unet_studio.core import label_brush
from unet_studio.core.errors import LabelsError
from unet_studio.core.label_brush import pixel_of, union

Box = tuple[int, int, int, int]


class PaintingMixin:
    """Brush edits for LabelVolume; each call is (part of) one undo step."""

    def paint_disc(self, t: int, z: int, y: float, x: float, radius: float, value: int) -> None:
        """Paint a disc (radius 1 = one pixel) centred on pixel (y, x); value 0 erases."""
        self._check_value(value)
        plane = self.plane_view(t, z)
        shape = label_brush.disc(plane.shape, pixel_of(y), pixel_of(x), radius)
        with self.stroke():
            if shape is not None:
                box = self._paint_mask(t, z, plane, *shape, value)
                if box is not None:
                    self._changed(t, z, box)

    def paint_line(
        self, t: int, z: int, y0: float, x0: float, y1: float, x1: float, radius: float, value: int
    ) -> None:
        """Paint a segment with a round brush, without gaps however long it is."""
        self._check_value(value)
        plane = self.plane_view(t, z)
        changed: Box | None = None
        with self.stroke():
            for box, mask in label_brush.line(
                plane.shape, pixel_of(y0), pixel_of(x0), pixel_of(y1), pixel_of(x1), radius
            ):
                part = self._paint_mask(t, z, plane, box, mask, value)
                if part is not None:
                    changed = part if changed is None else union(changed, part)
            if changed is not None:
                self._changed(t, z, changed)

    def erase_disc(self, t: int, z: int, y: float, x: float, radius: float) -> None:
        self.paint_disc(t, z, y, x, radius, 0)

    def erase_line(self, t: int, z: int, y0: float, x0: float, y1: float, x1: float, radius: float) -> None:
        self.paint_line(t, z, y0, x0, y1, x1, radius, 0)

    def fill(self, t: int, z: int, y: int, x: int, value: int) -> None:
        """Flood-fill the 4-connected region of the same value as pixel (y, x) in plane (t, z)."""
        from skimage.segmentation import flood

        self._check_value(value)
        plane = self.plane_view(t, z)
        y, x = pixel_of(y), pixel_of(x)
        if not (0 <= y < plane.shape[0] and 0 <= x < plane.shape[1]) or plane[y, x] == value:
            return
        region = flood(plane, (y, x), connectivity=1)
        ys = np.flatnonzero(region.any(axis=1))
        xs = np.flatnonzero(region.any(axis=0))
        box = (int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1)
        with self.stroke():
            self._paint_mask(t, z, plane, box, region[box[0] : box[1], box[2] : box[3]], value)
            self._changed(t, z, box)

    def _check_value(self, value: int) -> None:
        if not 0 <= int(value) <= len(self._classes):
            raise LabelsError(f"class {value} does not exist (there are {len(self._classes)} classes)")

    def _paint_mask(self, t, z, plane, box: Box, mask: np.ndarray, value: int) -> Box | None:
        """Set `mask` pixels of `box` to value; the box if anything changed, else None."""
        y0, y1, x0, x1 = box
        region = plane[y0:y1, x0:x1]
        write = mask & (region != value)
        if not write.any():
            return None
        self._recorder.before_change(t, z, plane, box)
        region[write] = value
        self.version += 1
        return box
