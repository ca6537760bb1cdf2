"""How the prediction is shown: on/off (key V), opacity, and what: the predicted classes, the
probability of one class as a heat map, or the uncertainty map (where to paint next)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QSlider,
    QWidget,
)

CLASSES = "classes"
PROBABILITY = "probability"
UNCERTAINTY = "uncertainty"


class OverlayPanel(QWidget):
    """Emits `changed()` when anything about the overlay display changes."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.visible = QCheckBox("Show prediction (V)")
        self.visible.setChecked(True)
        self.visible.toggled.connect(self.changed)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.opacity.setToolTip("Opacity of the prediction over the image")
        self.opacity.valueChanged.connect(self.changed)

        self.show_classes = QRadioButton("Predicted classes")
        self.show_probability = QRadioButton("Probability of")
        self.show_uncertainty = QRadioButton("Uncertainty (paint where it is bright)")
        self.show_classes.setChecked(True)
        self.modes = QButtonGroup(self)
        for button in (self.show_classes, self.show_probability, self.show_uncertainty):
            self.modes.addButton(button)
            button.toggled.connect(self.changed)
        self.probability_class = QComboBox()
        self.probability_class.currentIndexChanged.connect(self._class_chosen)

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.visible, 0, 0, 1, 2)
        layout.addWidget(QLabel("Opacity"), 1, 0)
        layout.addWidget(self.opacity, 1, 1)
        layout.addWidget(self.show_classes, 2, 0, 1, 2)
        layout.addWidget(self.show_probability, 3, 0)
        layout.addWidget(self.probability_class, 3, 1)
        layout.addWidget(self.show_uncertainty, 4, 0, 1, 2)

    @property
    def mode(self) -> str:
        if self.show_probability.isChecked():
            return PROBABILITY
        if self.show_uncertainty.isChecked():
            return UNCERTAINTY
        return CLASSES

    @property
    def chosen_class(self) -> int:
        """1-based class whose probability is shown."""
        return max(1, self.probability_class.currentIndex() + 1)

    def set_classes(self, names: list[str]) -> None:
        current = self.probability_class.currentIndex()
        self.probability_class.blockSignals(True)
        self.probability_class.clear()
        self.probability_class.addItems(names)
        # Default to the first non-background class: that is what people want to see.
        default = 1 if len(names) > 1 else 0
        self.probability_class.setCurrentIndex(current if 0 <= current < len(names) else default)
        self.probability_class.blockSignals(False)

    def toggle(self) -> None:
        self.visible.setChecked(not self.visible.isChecked())

    def _class_chosen(self, _index: int) -> None:
        if not self.show_probability.isChecked():
            self.show_probability.setChecked(True)  # choosing a class means "show it"
        else:
            self.changed.emit()
