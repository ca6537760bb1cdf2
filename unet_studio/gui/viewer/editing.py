"""Undo, redo and moving through the planes of the image shown.

An undo or redo may change the classes (a class added or removed): the project's classes must
follow, and when the project refuses (other images have labels of that class) the step is taken
back and the user is told why.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.core.errors import UnetStudioError


class Editing(QObject):
    """Edits of the shown image that are not strokes. Collaborators: the shown image (a
    ShownImage) and the project session. Signals: status_message(text, milliseconds)."""

    status_message = Signal(str, int)

    def __init__(self, shown, session, parent=None):
        super().__init__(parent)
        self.shown = shown
        self.session = session

    def undo(self) -> None:
        labels = self._labels()
        if labels is None:
            return
        if not labels.undo():
            self.status_message.emit("Nothing to undo", 2000)
        else:
            self._keep_project_classes(labels.redo)

    def redo(self) -> None:
        labels = self._labels()
        if labels is None:
            return
        if not labels.redo():
            self.status_message.emit("Nothing to redo", 2000)
        else:
            self._keep_project_classes(labels.undo)

    @Slot(int, int)
    def step_plane(self, dt: int, dz: int) -> None:
        """Show the plane `dt` time points and `dz` slices away (kept inside the stack)."""
        document = self.shown.document
        if document is not None:
            document.set_plane(document.t + dt, document.z + dz)

    def _labels(self):
        document = self.shown.document
        return None if document is None else document.labels

    def _keep_project_classes(self, take_back) -> None:
        project = self.session.project
        if project is None or self.session.entry_id is None:
            return
        try:
            project.adopt_classes(self.shown.document.labels)
        except UnetStudioError as error:
            take_back()
            self.status_message.emit(f"Not undone: {error}", 8000)
