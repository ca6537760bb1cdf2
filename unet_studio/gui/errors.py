"""The one place where the GUI tells the user that something failed.

Every failure the user should know about (a file that cannot be opened, a worker that stopped
with an error, an export that could not be written) goes through `show_error`, so it is always a
dialog with a plain one-line reason, never a traceback, and the app keeps running.
"""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def show_error(parent: QWidget | None, title: str, reason: str) -> None:
    """Show a modal error dialog: `title` says what failed, `reason` why (one line)."""
    QMessageBox.critical(parent, title, reason)


def ask_yes_no(parent: QWidget | None, title: str, question: str) -> bool:
    """Ask a yes/no question (No is the default answer); True for Yes."""
    answer = QMessageBox.question(
        parent, title, question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
