"""Puts the right prediction layer on the canvas: predicted classes, a class's probability, or
the uncertainty, for the plane on screen, as the overlay panel says."""
from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from unet_studio.gui.viewer.layers import background_classes, class_colors
from unet_studio.gui.panels.overlay_panel import CLASSES, PROBABILITY


class OverlayPresenter(QObject):
    """Refreshes the canvas's mask and heat layers from the document's predictions."""

    def __init__(self, canvas, panel, parent=None):
        super().__init__(parent)
        self.canvas = canvas
        self.panel = panel
        self.document = None
        self._disconnect = None
        panel.changed.connect(self.refresh)

    def set_document(self, document) -> None:
        if self._disconnect is not None:
            self._disconnect()
            self._disconnect = None
        self.document = document
        if document is not None:
            document.plane_changed.connect(self.refresh)
            document.predictions_changed.connect(self.refresh)
            self._disconnect = document.labels.on_classes_changed(self._classes_changed)
            self._classes_changed()
        else:
            self.refresh()

    def _classes_changed(self) -> None:
        self.panel.set_classes([c.name for c in self.document.labels.classes])
        self.refresh()

    @Slot()
    def refresh(self, *_args) -> None:
        document = self.document
        mask_layer, heat_layer = self.canvas.mask_layer, self.canvas.heat_layer
        if document is None or not self.panel.visible.isChecked():
            mask_layer.set_mask(None, None)
            heat_layer.set_map(None)
            return
        t, z = document.t, document.z
        opacity = self.panel.opacity.value() / 100
        mode = self.panel.mode
        if mode == CLASSES:
            classes = document.labels.classes
            lut = class_colors(classes, transparent=[0] + background_classes(classes))
            mask_layer.set_mask(document.predictions.mask(t, z), lut)
            mask_layer.setOpacity(opacity)
            heat_layer.set_map(None)
        else:
            values = (document.predictions.probability(t, z, self.panel.chosen_class)
                      if mode == PROBABILITY else document.predictions.uncertainty(t, z))
            heat_layer.set_map(values)
            heat_layer.setOpacity(opacity)
            mask_layer.set_mask(None, None)

    def has_overlay(self) -> bool:
        d = self.document
        return d is not None and d.predictions.mask(d.t, d.z) is not None

