"""Z and T sliders, shown only for the axes the image has (keys: Page Up/Down for Z,
Ctrl+Page Up/Down for T, or the arrow keys on the image)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget
from superqt import QLabeledSlider


class SlicesPanel(QWidget):
    """Moves the document through its planes; follows it when the plane changes elsewhere."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.document = None
        self.z_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.t_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.z_label = QLabel("Z")
        self.t_label = QLabel("T")
        self.z_slider.setToolTip("Z slice (Page Up / Page Down)")
        self.t_slider.setToolTip("Time point (Ctrl+Page Up / Ctrl+Page Down)")
        self.z_slider.valueChanged.connect(self._moved)
        self.t_slider.valueChanged.connect(self._moved)
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.z_label, 0, 0)
        layout.addWidget(self.z_slider, 0, 1)
        layout.addWidget(self.t_label, 1, 0)
        layout.addWidget(self.t_slider, 1, 1)
        self.set_document(None)

    def set_document(self, document) -> None:
        self.document = document
        n_z = document.stack.n_z if document is not None else 1
        n_t = document.stack.n_t if document is not None else 1
        for slider, label, n in ((self.z_slider, self.z_label, n_z), (self.t_slider, self.t_label, n_t)):
            slider.blockSignals(True)
            slider.setRange(0, max(0, n - 1))
            slider.blockSignals(False)
            slider.setVisible(n > 1)
            label.setVisible(n > 1)
        self.setVisible(n_z > 1 or n_t > 1)
        if document is not None:
            document.plane_changed.connect(self.show_plane)
            self.show_plane(document.t, document.z)

    def show_plane(self, t: int, z: int) -> None:
        for slider, value in ((self.t_slider, t), (self.z_slider, z)):
            slider.blockSignals(True)
            slider.setValue(value)
            slider.blockSignals(False)

    def _moved(self, _value: int) -> None:
        if self.document is not None:
            self.document.set_plane(self.t_slider.value(), self.z_slider.value())
