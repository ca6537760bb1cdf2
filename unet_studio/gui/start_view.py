"""What the window shows before an image is open: Open, Try the sample, recent files."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

_STEPS = (
    "<ol style='margin-left:0'>"
    "<li><b>Open</b> a microscopy image (TIFF, also Z-stacks, time series, several channels).</li>"
    "<li><b>Paint</b> a few strokes on the objects and on the background.</li>"
    "<li><b>Train</b>: the prediction appears over the image and improves while you paint.</li>"
    "<li><b>Export</b> the masks as TIFF for Fiji or napari.</li></ol>"
)


class StartView(QWidget):
    """Signals: `open_clicked()`, `sample_clicked()`, `recent_chosen(path)`."""

    open_clicked = Signal()
    sample_clicked = Signal()
    recent_chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        title = QLabel("<h1>unet_studio</h1>")
        intro = QLabel("Segment microscopy images with a U-Net you train yourself, in minutes."
                       + _STEPS)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)

        self.open_button = QPushButton("Open image…")
        self.open_button.setMinimumHeight(40)
        self.open_button.clicked.connect(self.open_clicked)
        self.sample_button = QPushButton("Try the sample (nuclei)")
        self.sample_button.setMinimumHeight(40)
        self.sample_button.clicked.connect(self.sample_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.sample_button)

        self.recent_title = QLabel("<b>Recent files</b>")
        self.recent = QListWidget()
        self.recent.itemActivated.connect(lambda item: self.recent_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.recent.setMaximumHeight(180)
        hint = QLabel("You can also drop image files onto this window.")
        hint.setStyleSheet("color: gray")

        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(12)
        column.addLayout(buttons)
        column.addSpacing(12)
        column.addWidget(self.recent_title)
        column.addWidget(self.recent)
        column.addWidget(hint)
        column.addStretch(2)
        box = QWidget()
        box.setLayout(column)
        box.setMaximumWidth(620)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 3)
        outer.addStretch(1)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}    {Path(path).parent}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.recent_title.setVisible(bool(paths))
