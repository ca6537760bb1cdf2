"""The image view: the image, the user's labels, the prediction overlay and a heat map, stacked
as separate pyqtgraph ImageItems in one ViewBox; mouse strokes become LabelVolume edits.

Wheel zooms, middle/right drag (or Space + left drag) pans, left drag paints with the active
tool. The canvas only maps mouse positions to pixels and calls the label model
(`paint_line`, `paint_disc`, `fill` inside one stroke = one undo step); the labels layer then
redraws just the rectangle the model reports as changed.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPen
from PySide6.QtWidgets import QApplication, QGraphicsEllipseItem

from unet_studio.gui.viewer.layers import HeatLayer, LabelsLayer, MaskLayer, Z_LABELS, class_colors
from unet_studio.gui.viewer.plane_keys import typing_in
from unet_studio.gui.viewer.tool_state import FILL, ToolState


class Canvas(pg.GraphicsView):
    """Shows one plane of the open image with its layers and paints into a LabelVolume.

    Signals: `cursor_moved(object)` with (y, x) pixel coordinates under the mouse or None when
    it leaves; `stroke_finished()` after each completed stroke or fill.
    """

    cursor_moved = Signal(object)
    stroke_finished = Signal()

    def __init__(self, tools: ToolState, parent=None):
        super().__init__(parent, background="k")
        self.tools = tools
        self.view = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False,
                               defaultPadding=0.01)
        self.setCentralItem(self.view)
        self.image_layer = pg.ImageItem()   # one channel, with levels (the histogram's item)
        self.rgb_layer = pg.ImageItem()     # colour composite or RGB picture, shown instead
        self.heat_layer = HeatLayer()
        self.mask_layer = MaskLayer()
        self.labels_layer = LabelsLayer()
        for layer in (self.image_layer, self.rgb_layer, self.heat_layer, self.mask_layer,
                      self.labels_layer):
            self.view.addItem(layer)
        self._brush_outline = QGraphicsEllipseItem()
        pen = QPen(QColor(255, 255, 255, 200))
        pen.setCosmetic(True)  # one screen pixel wide at any zoom
        self._brush_outline.setPen(pen)
        self._brush_outline.setZValue(Z_LABELS + 1)
        self._brush_outline.hide()
        self.view.addItem(self._brush_outline, ignoreBounds=True)

        self._labels = None
        self._disconnects: list = []
        self._t = self._z = 0
        self._plane_shape: tuple[int, int] | None = None
        self._stroke_last: tuple[int, int] | None = None  # pixel of the previous mouse event
        self._space_held = False
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tools.brush_size_changed.connect(self._update_brush_outline)
        self.tools.tool_changed.connect(self._update_brush_outline)

    # ---- what is shown -------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None, levels=None) -> None:
        """Show `image`: (Y, X) greyscale with `levels` (lo, hi), or (Y, X, 3) uint8 RGB."""
        if image is None:
            self.image_layer.clear()
            self.rgb_layer.clear()
            self._plane_shape = None
            return
        first = self._plane_shape is None or self._plane_shape != image.shape[:2]
        self._plane_shape = image.shape[:2]
        colour = image.ndim == 3
        if colour:
            self.rgb_layer.setImage(image, autoLevels=False, levels=None)
        else:
            self.image_layer.setImage(image, autoLevels=levels is None, levels=levels)
        self.rgb_layer.setVisible(colour)
        self.image_layer.setVisible(not colour)
        if first:
            self.fit()

    def set_levels(self, levels) -> None:
        self.image_layer.setLevels(levels)

    def set_labels(self, labels, t: int = 0, z: int = 0) -> None:
        """Paint into `labels` (a LabelVolume, or None to stop) and show its plane (t, z)."""
        self._end_stroke()
        if labels is not self._labels:
            for disconnect in self._disconnects:
                disconnect()
            self._disconnects = []
            if labels is not None:
                self._disconnects = [labels.on_change(self._labels_changed),
                                     labels.on_classes_changed(self._classes_changed)]
        self._labels = labels
        self._t, self._z = t, z
        if labels is None:
            self.labels_layer.set_plane(None)
        else:
            self.labels_layer.set_plane(labels.plane_view(t, z), class_colors(labels.classes))

    @property
    def painting(self) -> bool:
        """True while the mouse is drawing a stroke (it ends with stroke_finished)."""
        return self._stroke_last is not None

    @property
    def labels(self):
        return self._labels

    def fit(self) -> None:
        """Zoom so the whole plane fits the window."""
        if self._plane_shape is not None:
            h, w = self._plane_shape
            self.view.setRange(QRectF(0, 0, w, h), padding=0.01)

    def visible_region(self, max_fraction: float = 0.6) -> tuple[int, int, int, int] | None:
        """(y0, y1, x0, x1) of the plane on screen when zoomed in on less than `max_fraction`
        of it, else None (the whole plane is worth predicting)."""
        if self._plane_shape is None:
            return None
        h, w = self._plane_shape
        (x0, x1), (y0, y1) = self.view.viewRange()
        y0, y1 = max(0, int(math.floor(y0))), min(h, int(math.ceil(y1)))
        x0, x1 = max(0, int(math.floor(x0))), min(w, int(math.ceil(x1)))
        if y1 <= y0 or x1 <= x0 or (y1 - y0) * (x1 - x0) >= max_fraction * h * w:
            return None
        return (y0, y1, x0, x1)

    def _labels_changed(self, t: int, z: int, rect) -> None:
        if (t, z) == (self._t, self._z):
            self.labels_layer.refresh(rect)

    def _classes_changed(self) -> None:
        self.labels_layer.set_lut(class_colors(self._labels.classes))

    # ---- mouse -> pixels -------------------------------------------------------------------
    def pixel_at(self, pos: QPointF) -> tuple[float, float]:
        """Image coordinates (y, x) (fractional) under the widget position `pos`."""
        p = self.image_layer.mapFromScene(self.mapToScene(pos.toPoint()))
        return p.y(), p.x()

    def _pixel_index(self, pos: QPointF) -> tuple[int, int]:
        y, x = self.pixel_at(pos)
        return int(math.floor(y)), int(math.floor(x))

    def _inside(self, y: int, x: int) -> bool:
        return self._plane_shape is not None and 0 <= y < self._plane_shape[0] and 0 <= x < self._plane_shape[1]

    def _can_paint(self, event: QMouseEvent) -> bool:
        return (self._labels is not None and self._plane_shape is not None
                and event.button() == Qt.MouseButton.LeftButton and not self._space_held)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self._can_paint(event):
            super().mousePressEvent(event)
            return
        event.accept()
        y, x = self._pixel_index(event.position())
        value = self.tools.paint_value
        if self.tools.tool == FILL:
            if self._inside(y, x):
                with self._labels.stroke():
                    self._labels.fill(self._t, self._z, y, x, value)
                self.stroke_finished.emit()
            return
        self._labels.begin_stroke()
        self._stroke_last = (y, x)
        self._labels.paint_disc(self._t, self._z, y, x, self.tools.radius, value)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        y, x = self._pixel_index(event.position())
        self._show_cursor(event.position())
        if self._stroke_last is None:
            super().mouseMoveEvent(event)
            return
        event.accept()
        y0, x0 = self._stroke_last
        if (y, x) != (y0, x0):
            # A line from the previous position, so fast strokes have no gaps.
            self._labels.paint_line(self._t, self._z, y0, x0, y, x, self.tools.radius,
                                    self.tools.paint_value)
            self._stroke_last = (y, x)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._stroke_last is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        event.accept()
        self._end_stroke()

    def _end_stroke(self) -> None:
        if self._stroke_last is not None:
            self._stroke_last = None
            self._labels.end_stroke()
            self.stroke_finished.emit()

    def focusOutEvent(self, event) -> None:
        # A release outside the window may never arrive: close the stroke so undo stays sane.
        self._end_stroke()
        super().focusOutEvent(event)

    def leaveEvent(self, event) -> None:
        self._brush_outline.hide()
        self.cursor_moved.emit(None)
        super().leaveEvent(event)

    def _show_cursor(self, pos: QPointF) -> None:
        y, x = self.pixel_at(pos)
        self._cursor_pixel = (y, x)
        self._update_brush_outline()
        self.cursor_moved.emit((int(math.floor(y)), int(math.floor(x))) if self._plane_shape else None)

    def _update_brush_outline(self, *_args) -> None:
        pixel = getattr(self, "_cursor_pixel", None)
        if pixel is None or self._labels is None or self.tools.tool == FILL:
            self._brush_outline.hide()
            return
        # Centre on the pixel the brush paints, diameter = brush size in image pixels.
        cy, cx = math.floor(pixel[0]) + 0.5, math.floor(pixel[1]) + 0.5
        r = self.tools.brush_size / 2
        self._brush_outline.setRect(QRectF(cx - r, cy - r, 2 * r, 2 * r))
        self._brush_outline.show()

    # ---- keys ------------------------------------------------------------------------------
    # The arrow keys move through the planes window-wide: viewer/plane_keys.py.
    def enterEvent(self, event) -> None:
        """The pointer over the image takes the keyboard, so Space + drag pans (rather than
        painting, or pressing the button clicked last); not from a field being typed in."""
        focused = QApplication.focusWidget()
        if focused is not self and not typing_in(focused) and self.window().isActiveWindow():
            self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().enterEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)
