"""The arrow keys move through the planes anywhere in the main window (↑ ↓: Z, ← →: T), not
only while the canvas has the keyboard focus; a text field, spin box or editable list being
typed in keeps its arrow keys."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

ARROWS = {Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1),
          Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0)}
_PLAIN = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)


def typing_in(widget: QWidget | None) -> bool:
    if isinstance(widget, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)):
        return True
    return isinstance(widget, QComboBox) and widget.isEditable()


class PlaneKeys(QObject):
    """Watches the application's key presses for `window`. Signal: step(dt, dz)."""

    step = Signal(int, int)

    def __init__(self, window: QWidget):
        super().__init__(window)
        self._window = window
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() != QEvent.Type.KeyPress or event.key() not in ARROWS:
            return False
        if event.modifiers() not in _PLAIN or QApplication.activePopupWidget() is not None:
            return False
        # Key presses go to the focused widget first: `watched` is the widget typed in.
        if not isinstance(watched, QWidget) or watched.window() is not self._window or typing_in(watched):
            return False
        self.step.emit(*ARROWS[event.key()])
        return True
