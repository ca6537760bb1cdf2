"""File menu commands on the project as a whole: New, Open, Save As, the reproducibility
bundle, predicting every image; and what happens when labels cannot be saved."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.core.errors import UnetStudioError
from unet_studio.core.label_file import write_labels
from unet_studio.core.project import Project
from unet_studio.gui.errors import ask_yes_no, show_error
from unet_studio.gui.window.recent_files import recent_projects
from unet_studio.gui.workers import GeneratorWorker


def _save_as(project: Project, folder: str):
    project.save_as(folder)
    yield str(project.folder)


class ProjectCommands(QObject):
    """New / Open / Save Project As, bundle export, predict all images, autosave failures.

    Collaborators: the session, the ProjectController (opens and shows what these commands
    make), the file dialogs, the shown image, the settings (recent projects) and
    `may_leave_image(doing)`; `parent` is the widget its dialogs belong to.
    Signals: status_message(text, milliseconds); bundle_asked(project, path) and
    images_prediction_asked(images, folder) for the whole-stack jobs.
    The main window connects the session's and training's signals to the slots below.
    """

    status_message = Signal(str, int)
    bundle_asked = Signal(object, str)
    images_prediction_asked = Signal(list, str)

    def __init__(self, session, controller, dialogs, pool, shown, settings, may_leave_image, parent=None):
        super().__init__(parent)
        self.parent_widget = parent
        self.session = session
        self.controller = controller
        self.dialogs = dialogs
        self.pool = pool
        self.shown = shown
        self.settings = settings
        self.may_leave_image = may_leave_image
        self._save_error_shown = False
        self._saving_as = False
        self._kept_id: str | None = None

    def _start_folder(self) -> Path:
        project = self.session.project
        if project is not None:
            return project.folder.parent
        recent = recent_projects(self.settings)
        return Path(recent[0]).parent if recent else Path.home()

    # ---- new / open / save as ------------------------------------------------------------
    def new_project(self) -> None:
        folder = self.dialogs.new_project_folder(self._start_folder())
        if not folder:
            return
        folder = Path(folder)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            show_error(self.parent_widget, "Cannot create the project",
                       f"{folder} is not empty; choose a new folder name")
            return
        if not self.may_leave_image("start a new project"):
            return
        try:
            project = Project.create(folder)
        except UnetStudioError as error:
            show_error(self.parent_widget, "Cannot create the project", str(error))
            return
        carried = self._carry_shown_image(project)
        self.controller.adopt(project)
        if carried is not None:
            self.controller.switch_to(carried.id)
        else:
            self.status_message.emit("Add images to the project: Add… below the "
                                     "Images list, or drop files on it.", 15000)

    def _carry_shown_image(self, project: Project):
        """Offer to take the image on screen, with its strokes, into the new project."""
        document = self.shown.document
        if document is None or document.stack.path is None or not Path(document.stack.path).exists():
            return None
        if not ask_yes_no(self.parent_widget, "New project",
                          f"Add {document.name}, with the labels painted so far, to the new project?"):
            return None
        try:
            project.add_image(document.stack.path)
            entry = project.find_image(document.stack.path, document.stack.scene or 0)
            write_labels(project.folder / entry.labels, *document.labels.snapshot())
            return entry
        except (UnetStudioError, OSError) as error:
            show_error(self.parent_widget, "Cannot add the image", str(error))
            return None

    def open_project(self) -> None:
        folder = self.dialogs.project_folder(self._start_folder())
        if folder:
            self.controller.open_project(folder)

    def save_as(self) -> None:
        """Copy the project (labels, models, log) to a new folder and go on working there."""
        project = self.session.project
        if project is None or self._saving_as:
            return
        folder = self.dialogs.save_as_folder(self._start_folder() / f"{project.name} copy")
        if not folder:
            return
        self.session.flush(timeout=5.0)  # the copy then holds the latest strokes (or save_as writes them)
        self._saving_as = True
        worker = GeneratorWorker(lambda: _save_as(project, folder), name="save-as", about_image=False)
        worker.yielded.connect(self._saved_as)
        worker.failed.connect(self._save_as_failed)
        worker.finished.connect(self._save_as_finished)
        self.status_message.emit(f"Saving the project in {folder}…", 0)
        self.pool.start(worker)

    @Slot(object)
    def _saved_as(self, folder: str) -> None:
        self._save_error_shown = False
        self.controller.project_moved()
        self.status_message.emit(f"The project is now saved in {folder}", 10000)

    @Slot(str)
    def _save_as_failed(self, reason: str) -> None:
        show_error(self.parent_widget, "Cannot save the project", reason)

    @Slot()
    def _save_as_finished(self) -> None:
        self._saving_as = False

    # ---- autosave and model keeping problems ---------------------------------------------
    @Slot(object, str)
    def autosave_failed(self, _labels, reason: str) -> None:
        if self._save_error_shown:
            return  # once: the status bar keeps saying it
        self._save_error_shown = True
        if ask_yes_no(self.parent_widget, "Your labels cannot be saved",
                      f"{reason}\n\nSave the project in another folder now (Save Project As)? "
                      "Your strokes are kept in memory until then."):
            self.save_as()

    @Slot(object, int)
    def labels_saved(self, *_args) -> None:
        self._save_error_shown = False

    @Slot(str)
    def keep_failed(self, reason: str) -> None:
        if ask_yes_no(self.parent_widget, "The model cannot be kept in the project",
                      f"{reason}\n\nThe model stays in use until you close the app. "
                      "Save the project in another folder now (Save Project As)?"):
            self.save_as()

    @Slot(object)
    def model_kept(self, entry) -> None:
        self._kept_id = entry.id

    @Slot(object, object)
    def model_ready(self, model, project) -> None:
        """A run's model is its project's model now: the session's, and that of the shown image
        of the project, also where the user went on to another image as the run ended."""
        if project is not None and project is self.session.project:
            self.session.set_model(model, self._kept_id)
            document = self.shown.document
            if document is not None and self.session.entry_id is not None:
                document.offer_model(model)
        self._kept_id = None

    # ---- whole-project jobs --------------------------------------------------------------
    def export_bundle(self) -> None:
        project = self.session.project
        if project is None:
            return
        path = self.dialogs.bundle_path(self._start_folder() / f"{project.name}-bundle.zip")
        if path:
            self.bundle_asked.emit(project, path)

    def predict_all_images(self) -> None:
        project = self.session.project
        if project is None or self.shown.document is None:
            return
        if self.shown.document.model is None:
            self.images_prediction_asked.emit([], "")  # explains that a model is needed
            return
        folder = self.dialogs.output_folder(self._start_folder())
        if folder:
            entries = [e for e in project.images if not e.missing]
            self.images_prediction_asked.emit(entries, folder)
