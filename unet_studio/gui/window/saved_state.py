"""The permanent note in the status bar: are the strokes on disk, and where?"""
from __future__ import annotations

import time

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel

_QUIET = "color: #555; padding-right: 6px"


class SavedStateLabel(QLabel):
    """"Labels saved at 14:02", "⚠ labels NOT saved", or nothing outside a project."""

    def __init__(self, session, parent=None):
        super().__init__("", parent)
        self.session = session
        self.setStyleSheet(_QUIET)

    def show_state(self, saved_now: bool = False, failed: bool = False) -> None:
        session = self.session
        if saved_now:
            session.saved_at = time.strftime("%H:%M:%S")
        if session.project is None or session.entry_id is None:
            self.setText("")
            return
        self.setToolTip(f"Labels are written a moment after each stroke, in {session.project.folder}")
        if failed:
            self.setText("⚠ labels NOT saved")
            self.setStyleSheet("color: #b00; font-weight: bold; padding-right: 6px")
            return
        self.setStyleSheet(_QUIET)
        self.setText(f"Labels saved at {session.saved_at}" if session.saved_at
                     else "Your strokes are saved as you paint")

    # Slots for the session's signals, sent from the autosave thread: methods of this QObject
    # run on the GUI thread (a lambda would run on the sender's thread).
    @Slot()
    def note_saved(self) -> None:
        self.show_state(saved_now=True)

    @Slot()
    def note_failed(self) -> None:
        self.show_state(failed=True)
