"""The window's layout: project column (images, models), canvas, and the step-by-step side
panels (paint, train, check, export). Widgets are made by MainWindow; this only places them."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from unet_studio.gui.window.wheel_guard import guard_wheels


def _section(title: str, *widgets: QWidget, hint: str = "") -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(8, 6, 8, 8)
    if hint:
        label = QLabel(hint)
        label.setWordWrap(True)
        label.setStyleSheet("color: #555")
        layout.addWidget(label)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def build_layout(window) -> tuple[QStackedWidget, QWidget, QWidget]:
    """Place the widgets `window` (a MainWindow) has made; returns the pages (start view or
    workspace), the workspace and the project column (images, models) to show or hide."""
    viewer = QWidget()
    column = QVBoxLayout(viewer)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    column.addWidget(window.canvas, 1)
    column.addWidget(window.slices_panel)

    sidebar = QWidget()
    panels = QVBoxLayout(sidebar)
    panels.setContentsMargins(6, 6, 6, 6)
    panels.addWidget(_section("1  Paint", window.tools_panel, window.classes_panel,
                              hint="Paint a few strokes inside objects and on the background. "
                                   "Wheel zooms, Space+drag pans."))
    panels.addWidget(_section("2  Train", window.training_panel))
    panels.addWidget(_section("3  Check the prediction", window.overlay_panel, window.predict_panel,
                              hint="Paint corrections where it is wrong; training uses them at once."))
    panels.addWidget(_section("Objects", window.objects_panel,
                              hint="The objects of the predicted class in the shown plane, or "
                                   "joined across its slices; click a row to go to it."))
    panels.addWidget(_section("4  Export", window.export_button,
                              hint="Masks for Fiji or napari; more in the File menu."))
    panels.addWidget(_section("Image", window.contrast_panel))
    panels.addStretch(1)
    guard_wheels(sidebar)
    scroll = QScrollArea()
    scroll.setWidget(sidebar)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setFixedWidth(380)

    project_column = QWidget()
    left = QVBoxLayout(project_column)
    left.setContentsMargins(6, 6, 0, 6)
    left.addWidget(_section("Images", window.images_panel), 3)
    left.addWidget(_section("Models", window.models_panel), 2)
    project_column.setFixedWidth(260)

    workspace = QWidget()
    row = QHBoxLayout(workspace)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(0)
    row.addWidget(project_column)
    row.addWidget(viewer, 1)
    row.addWidget(scroll)
    pages = QStackedWidget()
    pages.addWidget(window.start_view)
    pages.addWidget(workspace)
    window.setCentralWidget(pages)
    return pages, workspace, project_column
