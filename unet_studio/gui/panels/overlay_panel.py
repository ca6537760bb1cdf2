"""How the prediction is shown: on/off (key V), opacity, and what: the predicted classes, the
probability of one class as a heat map, or the uncertainty map (where to paint next)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QSlider, QWidget

CLASSES = "classes"
PROBABILITY = "probability"
UNCERTAINTY = "uncertainty"


class OverlayPanel(QWidget):
    """Emits `changed()` when anything about the overlay display changes."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.visible = QCheckBox("Show (V)")
        self.visible.setToolTip("Show or hide the prediction over the image (V)")
        self.visible.setChecked(True)
        self.visible.toggled.connect(self.changed)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.opacity.setToolTip("Opacity of the prediction over the image")
        self.opacity.valueChanged.connect(self.changed)
        self.what = QComboBox()
        self.what.setToolTip("Uncertainty is bright where the network hesitates: paint there next")
        self.what.currentIndexChanged.connect(self.changed)
        self.set_classes([])

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.visible, 0, 0)
        layout.addWidget(self.opacity, 0, 1)
        layout.addWidget(QLabel("What"), 1, 0)
        layout.addWidget(self.what, 1, 1)
        layout.setColumnStretch(1, 1)

    @property
    def mode(self) -> str:
        data = self.what.currentData()
        return data[0] if data else CLASSES

    @property
    def chosen_class(self) -> int:
        """1-based class whose probability is shown (when mode is PROBABILITY)."""
        data = self.what.currentData()
        return data[1] if data and data[0] == PROBABILITY else 0

    def _find(self, data) -> int:
        # Not QComboBox.findData: Python tuples do not compare as QVariants.
        for index in range(self.what.count()):
            if tuple(self.what.itemData(index)) == tuple(data):
                return index
        return -1

    def set_mode(self, mode: str, k: int = 0) -> None:
        index = self._find((mode, k))
        if index >= 0:
            self.what.setCurrentIndex(index)

    def set_classes(self, names: list[str]) -> None:
        """Offer the probability of each class; keeps the current choice when it still exists."""
        current = self.what.currentData()
        self.what.blockSignals(True)
        self.what.clear()
        self.what.addItem("Predicted classes", (CLASSES, 0))
        for k, name in enumerate(names, start=1):
            self.what.addItem(f"Probability of {name}", (PROBABILITY, k))
        self.what.addItem("Uncertainty: where to paint next", (UNCERTAINTY, 0))
        index = self._find(current) if current else 0
        self.what.setCurrentIndex(max(index, 0))
        self.what.blockSignals(False)

    def toggle(self) -> None:
        self.visible.setChecked(not self.visible.isChecked())
