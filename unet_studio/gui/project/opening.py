"""Opening images and projects and switching between the images of a project (the images
list and its edits: images.py; the project's models: models.py).

Every image opened from a file lives in a project: its own (beside it) or one the user made.
Loading runs in a worker (workflow/opening.py); the results arrive here on the GUI thread and
go to the session (project, autosave, model) and to the window (the document shown).
Commands that change the project as a whole (new, save as, bundle) are in commands.py.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot

from unet_studio.core.errors import UnetStudioError
from unet_studio.core.project import Project
from unet_studio.core.project_file import is_project_folder
from unet_studio.gui.errors import ask_yes_no, show_error
from unet_studio.gui.project.dialogs import warn
from unet_studio.workflow.opening import (
    CURRENT_IMAGE,
    OpenedImage,
    OpenedProject,
    close_quietly,
    load_entry,
    open_image,
    open_project,
)
from unet_studio.gui.workers import GeneratorWorker


class ProjectController(QObject):
    """Loads images and projects and says what the window should show of them.

    Collaborators: the session, the file dialogs, the project's models (ProjectModels) and
    images (ProjectImages), the worker pool, the shown image, `may_leave_image(doing,
    within_project)` (asks before ending training); `parent` is the widget its dialogs and busy
    cursor belong to.
    Signals (the main window connects them):
      status_message(text, milliseconds): for the status bar ("" clears it; 0 ms: until replaced);
      image_to_show(LoadedImage or None, image id or None): show this image of the project;
      image_file_opened(path), project_folder_opened(folder): for the recent lists;
      all_labels_written(): every label is on disk (after Save As);
      save_copy_asked(): the user wants the project saved elsewhere (Save As);
      image_not_shown(): an image asked for could not be shown (the one shown stays).
    """

    status_message = Signal(str, int)
    image_to_show = Signal(object, object)
    image_file_opened = Signal(str)
    project_folder_opened = Signal(str)
    all_labels_written = Signal()
    save_copy_asked = Signal()
    image_not_shown = Signal()

    def __init__(self, session, dialogs, models, images, pool, shown, may_leave_image, parent=None):
        super().__init__(parent)
        self.parent_widget = parent
        self.session = session
        self.dialogs = dialogs
        self.models = models
        self.shown = shown
        self.images = images
        self.may_leave_image = may_leave_image
        self.pool = pool
        self._then_add: list[str] = []
        self._recent_file: str | None = None
        self._said = False   # a message about what opened was shown since "Opening …"

    @property
    def project(self) -> Project | None:
        return self.session.project

    # ---- opening -------------------------------------------------------------------------
    def open_files(self, paths: list[str]) -> None:
        """A project folder opens the project; image files open the first on its own (with
        its project) and add the others to that project."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        if is_project_folder(paths[0]):
            self.open_project(paths[0])
            return
        self.open_image(paths[0], then_add=paths[1:])

    def open_image(self, path: str, then_add: list[str] | None = None) -> None:
        project = self.project
        if project is not None and project.find_image(path) is not None:
            self.switch_to(project.find_image(path).id)  # already here: no second Project object
            self.images.add_images(then_add or [])
            return
        if not self.may_leave_image("open another image"):
            return
        self._then_add = list(then_add or [])
        self._recent_file = path
        self._load(lambda: open_image(path), Path(path).name)

    def open_project(self, folder: str) -> None:
        folder = str(Path(folder).parent if Path(folder).name == "project.json" else Path(folder))
        if self.project is not None and self.project.folder == Path(folder).absolute():
            return
        if not self.may_leave_image("open another project"):
            return
        self._then_add, self._recent_file = [], None
        self._load(lambda: open_project(folder), Path(folder).name)

    def switch_to(self, image_id: str) -> None:
        """Show another image of the project (its strokes so far are written first)."""
        project = self.project
        if project is None:
            return
        entry = project.image(image_id)
        if entry.id == self.session.entry_id and self.shown.document is not None:
            return
        if entry.missing:
            if ask_yes_no(self.parent_widget, "Image missing",
                          f"{entry.name} is not at {entry.path} any more. Locate it now?"):
                self.images.locate(entry.id, then_show=True)
            return
        if not self.may_leave_image("show another image", within_project=True):
            return
        self.session.write_soon()
        self._load(lambda: load_entry(project, entry), entry.name)

    def _load(self, make_generator, name: str) -> None:
        worker = GeneratorWorker(make_generator, name="open", about_image=False)
        worker.yielded.connect(self._received)
        worker.failed.connect(self._open_failed)
        worker.finished.connect(self._open_finished)
        self.status_message.emit(f"Opening {name}…", 0)
        self._said = False
        self.parent_widget.setCursor(Qt.CursorShape.BusyCursor)
        self.pool.start(worker)

    @Slot(object)
    def _received(self, item) -> None:
        failure = ""
        if isinstance(item, OpenedProject):
            project, image, failure = item.project, item.image, item.failure
        else:
            project, image = item.project, item
        adopted = project is not self.project
        if adopted and not self.session.set_project(project):
            show_error(self.parent_widget, "Labels not saved",
                       "Some strokes of the previous project could not be written.")
        if image is not None and image.labels is None and not self._start_fresh(image):
            close_quietly(image.stack)
            image = None
            self.image_not_shown.emit()
        if image is not None:
            self.image_to_show.emit(image.loaded(), image.entry.id)
            if self._recent_file is not None:
                self.image_file_opened.emit(self._recent_file)
        elif adopted:
            self.image_to_show.emit(None, None)
        self._recent_file = None
        if adopted:
            self._adopted(project)
        elif image is not None:
            self.refresh()
        else:
            self.images.refresh_images()
        if failure:
            show_error(self.parent_widget, "Cannot open the image", failure)
        if self._then_add:
            paths, self._then_add = self._then_add, []
            self.images.add_images(paths)

    def _start_fresh(self, item: OpenedImage) -> bool:
        """The labels file of the image is damaged: offer to start again (keeping it aside)."""
        if not ask_yes_no(self.parent_widget, "The labels cannot be read",
                          f"{item.damaged}\n\nStart new labels for {item.entry.name}? The damaged "
                          "file is kept in the project's labels folder under another name."):
            return False
        try:
            item.labels = item.project.labels_for(item.entry, item.stack, replace_damaged=True)
        except UnetStudioError as error:
            show_error(self.parent_widget, "Cannot start new labels", str(error))
            return False
        self.session.counts[item.entry.id] = 0
        return True

    @Slot(str)
    def _open_failed(self, reason: str) -> None:
        self._then_add = []
        self.image_not_shown.emit()
        show_error(self.parent_widget, "Cannot open the image", reason)

    @Slot()
    def _open_finished(self) -> None:
        self.parent_widget.unsetCursor()
        if not self._said:
            self.status_message.emit("", 0)

    def _say(self, text: str, milliseconds: int) -> None:
        """A status bar message about what opened, kept when the opening ends."""
        self._said = True
        self.status_message.emit(text, milliseconds)

    # ---- the project ---------------------------------------------------------------------
    def _adopted(self, project: Project) -> None:
        """`project` has just become the open one (its first image, if any, is shown): say
        what is wrong with it, load its current model and count its labels."""
        if not self.session.is_image_project and project.exists:
            self.project_folder_opened.emit(str(project.folder))
        self.refresh()
        self.images.count_labels()
        self.models.load_current()
        self._report_problems(project)

    def project_moved(self) -> None:
        """After Save As: the same project in another folder."""
        if not self.session.is_image_project:
            self.project_folder_opened.emit(str(self.project.folder))
        self.refresh()
        self.all_labels_written.emit()   # Save As wrote every label

    def adopt(self, project: Project) -> None:
        """Open `project` (already loaded, e.g. just created) with no image shown."""
        self._received(OpenedProject(project, None))

    def _report_problems(self, project: Project) -> None:
        if project.note:
            self._say(project.note, 15000)
        if project.recovered_models:
            n = len(project.recovered_models)
            self._say(f"{n} trained model{'s' if n != 1 else ''} found in the project folder, "
                      "missing from its list, now back in the Models list", 15000)
        missing = project.missing_images()
        if missing:
            names = "\n".join(f"  • {e.name}  (expected in {e.path.parent})" for e in missing[:12])
            more = f"\n  … and {len(missing) - 12} more" if len(missing) > 12 else ""
            warn(self.parent_widget, "Some images are missing",
                 f"These images of the project are not where they were:\n{names}{more}\n\n"
                 "Their labels are safe. Select one in the Images list and press Locate… to show "
                 "where it is now; images moved to the same folder are found together.")
        if project.read_only:
            title, why = (("The project is open in another window",
                           f"It is open in {project.open_elsewhere}, which may change it: changes here "
                           f"cannot be saved in {project.folder}.") if project.open_elsewhere else
                          ("The project folder is read-only", f"Changes cannot be saved in {project.folder}."))
            if ask_yes_no(self.parent_widget, title,
                          f"{why}\n\nSave a copy of the project in another folder now (Save Project As)?"):
                self.save_copy_asked.emit()

    # ---- what the window shows -----------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        self.images.refresh_images()
        self.models.refresh()

    def remember_shown_image(self) -> None:
        """Keep which image was shown, so the project opens on it next time."""
        project = self.project
        if project is not None and project.exists and self.session.entry_id is not None:
            project.settings[CURRENT_IMAGE] = self.session.entry_id
            try:
                project.save_settings()
            except UnetStudioError:
                pass  # a read-only project has said so already
