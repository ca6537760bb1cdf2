"""The window's status bar: what the controllers report, and the pixel under the mouse."""
from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QStatusBar

from unet_studio.gui.viewer.cursor_readout import describe_pixel


class StatusLine(QObject):
    """Shows controller messages and, under the mouse, the pixel's position and values in the
    plane shown (`refresh` after the plane changes keeps it true), and the object there while
    the objects are shown (`objects`: gui/viewer/objects.py's controller, once there is one)."""

    def __init__(self, bar: QStatusBar, shown, parent=None):
        super().__init__(parent)
        self.bar = bar
        self.shown = shown
        self.objects = None
        self._pixel = None   # (y, x) under the mouse

    @Slot(str, int)
    def show_message(self, text: str, milliseconds: int) -> None:
        if text:
            self.bar.showMessage(text, milliseconds)
        else:
            self.bar.clearMessage()

    @Slot(object)
    def show_pixel(self, pixel) -> None:
        self._pixel = pixel
        document = self.shown.document
        if document is None or pixel is None:
            self.bar.clearMessage()
            return
        text = describe_pixel(document, *pixel)
        word = self.objects.describe(document.t, document.z, *pixel) if self.objects is not None else ""
        self.bar.showMessage(f"{text}   {word}" if text and word else text)

    @Slot()
    def refresh(self) -> None:
        """The plane shown or its prediction changed: the readout follows it."""
        if self._pixel is not None:
            self.show_pixel(self._pixel)
