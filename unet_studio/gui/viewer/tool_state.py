"""Which painting tool is active, its size and the class it paints: shared by canvas and panels.

The canvas reads it when the mouse paints; the tools and classes panels show it and write to it
through its setters (blocking their own signals while they sync, as napari's controls do).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

BRUSH = "brush"
ERASER = "eraser"
FILL = "fill"
TOOLS = (BRUSH, ERASER, FILL)

MIN_BRUSH = 1
MAX_BRUSH = 200


class ToolState(QObject):
    """The painting tool (`BRUSH`, `ERASER` or `FILL`), brush diameter in image pixels and the
    active class (1-based index into LabelVolume.classes)."""

    tool_changed = Signal(str)
    brush_size_changed = Signal(int)
    active_class_changed = Signal(int)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._tool = BRUSH
        self._brush_size = 9
        self._active_class = 1

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        if tool != self._tool:
            self._tool = tool
            self.tool_changed.emit(tool)

    @property
    def brush_size(self) -> int:
        """Brush diameter in image pixels."""
        return self._brush_size

    def set_brush_size(self, size: int) -> None:
        size = int(min(MAX_BRUSH, max(MIN_BRUSH, size)))
        if size != self._brush_size:
            self._brush_size = size
            self.brush_size_changed.emit(size)

    def grow_brush(self) -> None:
        """`]`: about 20 % bigger, at least one pixel, so big brushes change quickly too."""
        self.set_brush_size(self._brush_size + max(1, round(self._brush_size * 0.2)))

    def shrink_brush(self) -> None:
        """`[`: the inverse of grow_brush."""
        self.set_brush_size(self._brush_size - max(1, round(self._brush_size / 6)))

    @property
    def radius(self) -> float:
        """Radius for LabelVolume.paint_*, whose radius-r disc is 2r - 1 pixels across."""
        return (self._brush_size + 1) / 2

    @property
    def active_class(self) -> int:
        return self._active_class

    def set_active_class(self, k: int) -> None:
        if k < 1:
            raise ValueError("class numbers start at 1")
        if k != self._active_class:
            self._active_class = k
            self.active_class_changed.emit(k)

    @property
    def paint_value(self) -> int:
        """The label value the current tool writes: 0 erases."""
        return 0 if self._tool == ERASER else self._active_class
