"""The open project as the window uses it: the core Project, its autosave, its current model.

Every image shown from a file belongs to a project (an image opened on its own gets the one
beside it, written on the first stroke), so strokes are always saved: the Autosaver writes a
LabelVolume a second or two after a stroke ends, on its own thread. Its callbacks arrive on
that thread and are passed on here as Qt signals, which Qt queues to the GUI thread.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from unet_studio.core.autosave import Autosaver
from unet_studio.core.project_paths import beside_image, fallback_for_image
from unet_studio.gui.workers import plain_reason

DAMAGED = -1  # labeled-pixel count of an image whose labels file cannot be read
# Write half a second after the last stroke ended (2 s at most while strokes keep coming): a
# crash then loses at most the stroke in progress and, rarely, the one just before it.
QUIET, LONGEST = 0.5, 2.0


class ProjectSession(QObject):
    """Holds the open Project (or None), its Autosaver, the entry shown and the current model.

    Signals: project_changed() (another project, or Save As moved it), images_changed()
    (added, removed, relocated, counts), models_changed(), labels_saved(labels, count) and
    autosave_failed(labels, reason), both from the autosave thread, delivered queued.
    """

    project_changed = Signal()
    images_changed = Signal()
    models_changed = Signal()
    labels_saved = Signal(object, int)
    autosave_failed = Signal(object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project = None
        self.autosaver: Autosaver | None = None
        self.entry_id: str | None = None   # the image shown, if it is in the project
        self.model = None                  # ml Model of the project's current model, once loaded
        self.model_id: str | None = None   # the history entry `model` was loaded from
        self.counts: dict[str, int] = {}   # image id -> labeled pixels (DAMAGED if unreadable)
        self.saved_at = ""                 # clock time of the last labels write, "" if none yet
        self._watched = None
        self._painting = lambda: False
        self._disconnect: list = []

    # ---- project -------------------------------------------------------------------------
    def set_project(self, project) -> bool:
        """Make `project` the open one; the previous one's pending strokes are written first.
        Returns False if they could not be written (the switch happens anyway)."""
        if project is self.project:
            return True
        ok = self.close()
        self.project = project
        self.entry_id = None
        self.model = self.model_id = None
        self.counts = {}
        self.saved_at = ""
        if project is not None:
            self.autosaver = Autosaver(project.save_labels, quiet=QUIET, longest=LONGEST,
                                       on_error=self._failed_on_thread, on_saved=self._saved_on_thread)
        self.project_changed.emit()
        return ok

    @property
    def is_image_project(self) -> bool:
        """True for the project kept for an image opened on its own, while it holds only that
        image (or its scenes; with more images added it is a project like one the user made)."""
        project = self.project
        if project is None or len({e.path for e in project.images}) != 1:
            return False
        image = project.images[0].path
        return project.folder in (beside_image(image), fallback_for_image(image))

    @property
    def entry(self):
        """The ImageEntry shown, or None."""
        if self.project is None or self.entry_id is None:
            return None
        try:
            return self.project.image(self.entry_id)
        except Exception:  # removed meanwhile
            return None

    def set_model(self, model, model_id: str | None) -> None:
        self.model, self.model_id = model, model_id

    # ---- autosave ------------------------------------------------------------------------
    def watch(self, labels, painting=lambda: False) -> None:
        """Autosave `labels` (the shown image's) after each change; stop watching the last.
        painting(): True while a mouse stroke is under way (its end calls stroke_ended)."""
        for disconnect in self._disconnect:
            disconnect()
        self._disconnect = []
        self._watched = labels
        self._painting = painting
        if labels is None or self.autosaver is None:
            return
        self._disconnect = [labels.on_change(self._pixels_changed),
                            labels.on_classes_changed(lambda: self.changed(labels))]

    def _pixels_changed(self, *_args) -> None:
        # A mouse stroke is written once it ends (stroke_ended), not bit by bit; every other
        # change (undo, redo, class edits, a fill) right away.
        if self._watched is not None and not self._painting():
            self.changed(self._watched)

    def stroke_ended(self) -> None:
        if self._watched is not None:
            self.changed(self._watched)

    def changed(self, labels) -> None:
        if self.autosaver is not None:
            self.autosaver.changed(labels)

    @property
    def unsaved(self) -> bool:
        """True while some strokes are not written to the project yet."""
        return self.autosaver is not None and self.autosaver.pending

    def write_soon(self) -> None:
        """Start writing everything pending now, without waiting (e.g. switching images)."""
        if self.autosaver is not None:
            self.autosaver.flush(timeout=0)

    def flush(self, timeout: float = 30.0) -> bool:
        """Write everything pending and wait; False on a write error or timeout."""
        return self.autosaver is None or self.autosaver.flush(timeout)

    def close(self) -> bool:
        """Write what is pending, stop the autosave thread, let the project go; False if
        something was not written."""
        self.watch(None)
        autosaver, self.autosaver = self.autosaver, None
        written = autosaver is None or autosaver.close()
        if self.project is not None:
            self.project.close()   # another unet_studio may change it now (core/project_lock.py)
        return written

    def _saved_on_thread(self, labels) -> None:
        # The autosave thread counts, so a big stack does not cost the GUI thread.
        self.labels_saved.emit(labels, int(np.count_nonzero(labels.data)))

    def _failed_on_thread(self, labels, error: BaseException) -> None:
        self.autosave_failed.emit(labels, plain_reason(error))

    def image_id_of(self, labels) -> str | None:
        """The project image whose labels are `labels`, if loaded."""
        if self.project is None:
            return None
        return next((i for i, v in self.project.loaded_labels().items() if v is labels), None)
