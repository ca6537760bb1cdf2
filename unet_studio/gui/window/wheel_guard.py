"""Scrolling the side panels never changes a value by accident: a spin box, a list to pick from
or a slider takes the mouse wheel only once it has focus (clicked, or reached with Tab);
otherwise the wheel scrolls the panels, as it would over any other part of them."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QWidget

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class WheelGuard(QObject):
    """Passes a wheel event on to the panel behind a guarded widget that has no focus."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            event.ignore()   # not taken: Qt offers it to the widgets behind, up to the scroll area
            return True
        return False


def guard_wheels(container: QWidget) -> WheelGuard:
    """Guard every spin box, list to pick from and slider inside `container`; they take focus by
    a click or Tab only, not by the wheel passing over them."""
    guard = WheelGuard(container)
    for kind in GUARDED:
        for widget in container.findChildren(kind):
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            widget.installEventFilter(guard)
    return guard
