"""The images of the open project as the window lists them: their label counts, adding,
removing and locating moved images.

Counting the labeled pixels of every image reads their label files, so it runs in a worker;
the counts arrive here and are kept in the session.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.core.errors import UnetStudioError
from unet_studio.core.project_file import is_project_folder
from unet_studio.gui.errors import ask_yes_no, show_error
from unet_studio.gui.panels.images_panel import ImageRow
from unet_studio.gui.workers import GeneratorWorker
from unet_studio.workflow.opening import count_labeled


class ProjectImages(QObject):
    """The Images list and its edits.

    Collaborators: the session (project, counts, the image shown), the file dialogs, the worker
    pool, the shown image and `may_leave_image(doing)`; `parent` is the widget its dialogs
    belong to.
    Signals (the main window connects them):
      images_listed(list of ImageRow): the Images list to show;
      show_asked(image id): show this image of the project;
      open_asked(paths): open these files (no project open, or a project folder was given);
      image_to_show(None, None): the image shown left the project: show none;
      status_message(text, milliseconds).
    """

    images_listed = Signal(list)
    show_asked = Signal(str)
    open_asked = Signal(list)
    image_to_show = Signal(object, object)
    status_message = Signal(str, int)

    def __init__(self, session, dialogs, pool, shown, may_leave_image, parent=None):
        super().__init__(parent)
        self.parent_widget = parent
        self.session = session
        self.dialogs = dialogs
        self.pool = pool
        self.shown = shown
        self.may_leave_image = may_leave_image

    @property
    def project(self):
        return self.session.project

    def count_labels(self, entries=None) -> None:
        project = self.project
        if project is None:
            return
        entries = project.images if entries is None else entries
        # The project travels with each item: a slot of this object runs on the GUI thread
        # (a lambda connected to a worker's signal would run on the worker's thread).
        worker = GeneratorWorker(lambda: ((project, *item) for item in count_labeled(project, entries)),
                                 name="count-labels", about_image=False)
        worker.yielded.connect(self._counted)
        self.pool.start(worker)

    @Slot(object)
    def _counted(self, item: tuple) -> None:
        project, image_id, count = item
        if project is self.project:
            self.session.counts[image_id] = count
            self.refresh_images()

    @Slot(object, int)
    def labels_saved(self, labels, count: int) -> None:
        image_id = self.session.image_id_of(labels)
        if image_id is not None:
            self.session.counts[image_id] = count
            self.refresh_images()

    # ---- images --------------------------------------------------------------------------
    def add_images(self, paths: list[str] | None = None) -> None:
        project = self.project
        if project is None:
            if paths:
                self.open_asked.emit(paths)
            return
        if paths is None:
            paths = self.dialogs.image_files(project.folder.parent)
        if not paths:
            return
        if is_project_folder(paths[0]):
            self.open_asked.emit(paths[:1])
            return
        added, refused = [], []
        for path in paths:
            try:
                from unet_studio.core.stack import open_stack

                with open_stack(path) as stack:  # the header only: refuse what is not an image
                    added.append(project.add_image(path, stack.scenes))
            except UnetStudioError as error:
                refused.append(str(error))
        if added:
            try:
                project.ensure_created()  # the list of images is worth keeping at once
            except UnetStudioError as error:
                show_error(self.parent_widget, "Cannot save the project", str(error))
            self.count_labels(added)
        self.refresh_images()
        if refused:
            show_error(self.parent_widget, "Some files were not added", "; ".join(refused))
        if added and self.shown.document is None:
            self.show_asked.emit(added[0].id)

    def remove_image(self, image_id: str) -> None:
        project = self.project
        entry = project.image(image_id)
        if not ask_yes_no(self.parent_widget, "Remove image",
                          f"Take {entry.name} out of the project? Its labels file stays in the "
                          "project folder, and the image file is not touched."):
            return
        showing = image_id == self.session.entry_id
        if showing:
            if not self.may_leave_image("remove the image"):
                return
            self.session.flush()  # its strokes reach the disk before it leaves the project
            self.image_to_show.emit(None, None)
        try:
            project.remove_image(entry)
        except UnetStudioError as error:
            show_error(self.parent_widget, "Cannot remove the image", str(error))
        self.session.counts.pop(image_id, None)
        self.refresh_images()
        present = [e for e in project.images if not e.missing]
        if showing and present:
            self.show_asked.emit(present[0].id)

    def locate(self, image_id: str, then_show: bool = False) -> None:
        """Ask where a missing image is now; `then_show`: show it once found."""
        project = self.project
        entry = project.image(image_id)
        path = self.dialogs.locate(entry.name, entry.path.parent if entry.path.parent.exists()
                                   else project.folder.parent)
        if not path:
            return
        try:
            moved = project.relocate(entry, path)
        except UnetStudioError as error:
            show_error(self.parent_widget, "This is not the image", str(error))
            return
        self.status_message.emit(f"Found {', '.join(e.name for e in moved)}", 8000)
        self.count_labels(moved)
        self.refresh_images()
        if then_show or self.shown.document is None:
            self.show_asked.emit(entry.id)

    @Slot()
    def refresh_images(self) -> None:
        project = self.project
        rows = [] if project is None else [
            ImageRow(e.id, e.name, str(e.path), self.session.counts.get(e.id), e.missing,
                     e.id == self.session.entry_id)
            for e in project.images]
        self.images_listed.emit(rows)
