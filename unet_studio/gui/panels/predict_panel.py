"""Predict every plane of the stack, with a progress bar and Cancel; the same bar shows the
progress of exports, which predict the whole stack too."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget


class PredictPanel(QWidget):
    """Signals: `predict_all_clicked()`, `predict_images_clicked()`, `cancel_clicked()`."""

    predict_all_clicked = Signal()
    predict_images_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.predict_button = QPushButton("Predict all planes")
        self.predict_button.setToolTip("Predict every Z slice and time point with the current model")
        self.predict_button.clicked.connect(self.predict_all_clicked)
        self.images_button = QPushButton("Predict all images…")
        self.images_button.setToolTip("Predict every image of the project and save their masks "
                                      "in a folder you choose")
        self.images_button.clicked.connect(self.predict_images_clicked)
        self.images_button.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.predict_button)
        layout.addWidget(self.images_button)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.set_busy(None)
        self.show_status("")

    def set_busy(self, what: str | None) -> None:
        """Show the progress row while `what` (e.g. "Predicting") runs; None hides it."""
        busy = what is not None
        self.progress.setRange(0, 1000)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.progress.setValue(0)
        self.progress.setFormat(f"{what} %p%" if busy else "%p%")

    def show_fraction(self, fraction: float | None) -> None:
        """Progress as a fraction of the job; None: busy for an unknown time (a moving bar)."""
        if fraction is None:
            self.progress.setRange(0, 0)
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(round(1000 * min(max(fraction, 0.0), 1.0))))

    def show_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
