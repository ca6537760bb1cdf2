"""The wheel over the side panels scrolls them: it changes a spin box, list or slider only once
that has focus (a user scrolling down to the Objects panel must not re-split the plane)."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QSlider

from tests.gui.helpers import show_array
from tests.gui.test_objects_panel import discs


def wheel_down(widget) -> bool:
    """A wheel step over `widget`; whether it took the event (not: Qt offers it to the panels
    behind it, which scroll; a test cannot make Qt do that with an event it sends itself)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_the_wheel_passes_over_values_it_does_not_change(window, qtbot):
    show_array(window, (discs() * 150 + 30).astype("uint8"), "YX")
    qtbot.waitUntil(lambda: window.pool.idle, timeout=20_000)
    size = window.objects_panel.size
    what = window.overlay_panel.findChild(QComboBox)
    brush = window.tools_panel.findChild(QSlider)
    before = (size.value(), what.currentIndex(), brush.value())
    assert not any(wheel_down(widget) for widget in (size, what, brush))
    assert (size.value(), what.currentIndex(), brush.value()) == before
    assert all(w.focusPolicy() == Qt.FocusPolicy.StrongFocus for w in (size, what, brush))
