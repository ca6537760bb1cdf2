"""What the window shows before an image is open: Open, Try the sample, projects, recent files."""
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


def _recent_list(chosen: Signal) -> QListWidget:
    widget = QListWidget()
    widget.itemActivated.connect(lambda item: chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
    widget.setMaximumHeight(150)
    return widget


def _fill(widget: QListWidget, title: QLabel, paths: list[str]) -> None:
    widget.clear()
    for path in paths:
        item = QListWidgetItem(f"{Path(path).name}    {Path(path).parent}")
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setToolTip(path)
        widget.addItem(item)
    widget.setVisible(bool(paths))
    title.setVisible(bool(paths))


class StartView(QWidget):
    """Signals: `open_clicked()`, `sample_clicked()`, `recent_chosen(path)`,
    `new_project_clicked()`, `open_project_clicked()`, `recent_project_chosen(folder)`."""

    open_clicked = Signal()
    sample_clicked = Signal()
    recent_chosen = Signal(str)
    new_project_clicked = Signal()
    open_project_clicked = Signal()
    recent_project_chosen = Signal(str)

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
        self.new_project_button = QPushButton("New project…")
        self.new_project_button.setToolTip("A project keeps several images, their labels and "
                                           "the trained models together in one folder")
        self.new_project_button.clicked.connect(self.new_project_clicked)
        self.open_project_button = QPushButton("Open project…")
        self.open_project_button.clicked.connect(self.open_project_clicked)
        project_buttons = QHBoxLayout()
        project_buttons.addWidget(self.new_project_button)
        project_buttons.addWidget(self.open_project_button)

        self.projects_title = QLabel("<b>Recent projects</b>")
        self.projects = _recent_list(self.recent_project_chosen)
        self.recent_title = QLabel("<b>Recent images</b>")
        self.recent = _recent_list(self.recent_chosen)
        hint = QLabel("You can also drop image files onto this window. Your strokes are saved "
                      "as you paint, in a folder beside the image.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: gray")

        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(12)
        column.addLayout(buttons)
        column.addLayout(project_buttons)
        column.addSpacing(12)
        column.addWidget(self.projects_title)
        column.addWidget(self.projects)
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
        _fill(self.recent, self.recent_title, paths)

    def set_recent_projects(self, folders: list[str]) -> None:
        _fill(self.projects, self.projects_title, folders)
