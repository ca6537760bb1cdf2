"""Brush, eraser and fill buttons and the brush size slider, bound to the shared ToolState."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget
from superqt import QLabeledSlider

from unet_studio.gui.viewer.tool_state import BRUSH, ERASER, FILL, MAX_BRUSH, MIN_BRUSH, ToolState

_TOOLS = [
    (BRUSH, "Brush", "B", "Paint the selected class (B)"),
    (ERASER, "Eraser", "E", "Erase labels (E)"),
    (FILL, "Fill", "F", "Fill a closed region with the selected class (F)"),
]


class ToolsPanel(QWidget):
    """Which tool paints, and how big the brush is ([ and ] change it)."""

    def __init__(self, tools: ToolState, parent=None):
        super().__init__(parent)
        self.tools = tools
        self.buttons: dict[str, QToolButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for tool, text, key, tip in _TOOLS:
            button = QToolButton()
            button.setText(f"{text} ({key})")
            button.setToolTip(tip)
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.clicked.connect(lambda _checked=False, t=tool: self.tools.set_tool(t))
            group.addButton(button)
            row.addWidget(button)
            self.buttons[tool] = button
        row.addStretch(1)

        self.size_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(MIN_BRUSH, MAX_BRUSH)
        self.size_slider.setToolTip("Brush diameter in image pixels ([ smaller, ] bigger)")
        self.size_slider.valueChanged.connect(self.tools.set_brush_size)
        size_row = QHBoxLayout()
        size_row.setContentsMargins(0, 0, 0, 0)
        size_row.addWidget(QLabel("Size"))
        size_row.addWidget(self.size_slider, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addLayout(size_row)

        tools.tool_changed.connect(self._show_tool)
        tools.brush_size_changed.connect(self._show_size)
        self._show_tool(tools.tool)
        self._show_size(tools.brush_size)

    def _show_tool(self, tool: str) -> None:
        self.buttons[tool].setChecked(True)
        self.size_slider.setEnabled(tool != FILL)

    def _show_size(self, size: int) -> None:
        # Block our own signal while syncing from the model, so it is not written back.
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(size)
        self.size_slider.blockSignals(False)
