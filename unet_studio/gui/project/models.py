"""The project's models in the window: which one is shown and trained further.

The current model is loaded in a worker when a project opens; the user can go back to an
earlier one, or start a new one (the next training fine-tunes the built-in starting model
afresh, with the recipe measured on the strokes then). Every model stays in the Models list.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.core.errors import UnetStudioError
from unet_studio.gui.errors import show_error
from unet_studio.gui.panels.models_panel import when
from unet_studio.workflow.opening import import_model_file, load_model_file
from unet_studio.gui.workers import GeneratorWorker


class ProjectModels(QObject):
    """Keeps the session's model, the shown document's and the Models list in step.

    Collaborators: the session (project and its model), the file dialogs, the worker pool, the
    shown image, the training controller (asked whether it runs) and the training panel (where
    a model's story is told); `parent` is the widget its error dialogs belong to.
    Signals: models_listed(list of ModelEntry) whenever the list to show changes.
    """

    models_listed = Signal(list)

    def __init__(self, session, dialogs, pool, shown, training, training_panel, parent=None):
        super().__init__(parent)
        self.parent_widget = parent
        self.session = session
        self.dialogs = dialogs
        self.pool = pool
        self.shown = shown
        self.training = training
        self.training_panel = training_panel

    @property
    def project(self):
        return self.session.project

    def load_current(self) -> None:
        project = self.project
        current = project.models.current if project is not None else None
        if current is None or not project.model_path(current).is_file():
            return
        path = project.model_path(current)
        self._load(project, lambda: load_model_file(path, current.id), "load-model")

    def _load(self, project, make_items, name: str) -> None:
        """Load a model in a worker: `make_items()` yields (model_id, Model); shown when it
        is still the project's current model."""
        worker = GeneratorWorker(lambda: ((project, *item) for item in make_items()), name=name,
                                 about_image=False)
        worker.yielded.connect(self._model_loaded)
        worker.failed.connect(self._model_failed)
        self.pool.start(worker)

    @Slot(str)
    def _model_failed(self, reason: str) -> None:
        show_error(self.parent_widget, "The model cannot be loaded", reason)

    @Slot(object)
    def _model_loaded(self, item: tuple) -> None:
        project, model_id, model = item
        current = project.models.current
        if project is not self.project or current is None or current.id != model_id:
            return   # the user chose another model, or a new one, while this one loaded
        self.session.set_model(model, model_id)
        document = self.shown.document
        if document is not None and self.session.entry_id is not None:
            document.set_model(model)
        entry = project.models.get(model_id)
        self.refresh()
        self.training_panel.clear()
        if entry.info.get("imported_from"):
            told = f"Using {entry.info['imported_from']}. Press Train to fine-tune it on your strokes."
        else:
            steps = f", {entry.steps} steps" if entry.steps is not None else ""
            told = f"Using the model trained {when(entry.time)}{steps}. Press Train to go on from it."
        self.training_panel.show_message(told)

    @Slot()
    def start_from_file(self) -> None:
        """Model > Start from a model file: a unet_studio model or a bioimage.io package of
        ours, kept in the Models list, shown, and trained further by the next Train."""
        project, document = self.project, self.shown.document
        if project is None or document is None:
            return
        if self.training.running:
            show_error(self.parent_widget, "Training is running", "Stop training first, then choose the model.")
            return
        path = self.dialogs.model_file(project.folder)
        if not path:
            return
        channels = document.stack.n_c
        self._load(project, lambda: import_model_file(project, path, channels), "import-model")

    def use_model(self, model_id: str) -> None:
        """Go back (or forward) to another model of the history: shown and trained further."""
        if self.training.running:
            show_error(self.parent_widget, "Training is running", "Stop training first, then choose the model.")
            self.refresh()
            return
        try:
            self.project.set_current_model(model_id)
        except UnetStudioError as error:
            show_error(self.parent_widget, "Cannot use this model", str(error))
        self.refresh()
        self.load_current()

    @Slot()
    def start_new_model(self) -> None:
        """The next training starts afresh from the built-in starting model (with the recipe
        measured on the strokes then), not from the current model; every model stays listed."""
        if self.training.running:
            show_error(self.parent_widget, "Training is running", "Stop training first, then start a new model.")
            return
        if self.project is not None:
            try:
                self.project.set_current_model(None)
            except UnetStudioError as error:
                show_error(self.parent_widget, "Cannot start a new model", str(error))
                return
        self.session.set_model(None, None)
        if self.shown.document is not None:
            self.shown.document.forget_model()
        self.refresh()
        self.training_panel.clear()
        self.training_panel.show_message(
            "Press Train to start a new model from the built-in starting model. "
            "The earlier models stay in the Models list.")

    @Slot()
    def refresh(self) -> None:
        project = self.project
        self.models_listed.emit([] if project is None else list(project.models))
