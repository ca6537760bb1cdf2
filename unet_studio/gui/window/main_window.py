"""The main window: composes the start view, canvas, panels and controllers, and wires them.

State lives in the document (core objects) and in the controllers; this class builds the
widgets, gives each controller the collaborators it needs, has every signal connected
(window/wiring.py, the one place the parts meet), hands a new document to its parts
(`_hand_out`) and handles window-level events (open, drop, close). Controllers never reach back
into the window: they are given what they use and report through signals.
"""
from __future__ import annotations


from PySide6.QtCore import QEvent, QSettings, Slot
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QMessageBox, QPushButton

from unet_studio.gui.window.actions import EXPORT_COMMANDS, SHORTCUTS_HELP, build_menus
from unet_studio.gui.viewer.canvas import Canvas
from unet_studio.gui.viewer.plane_keys import PlaneKeys
from unet_studio.gui.viewer.document import ImageDocument, ShownImage
from unet_studio.gui.viewer.editing import Editing
from unet_studio.gui.viewer.objects import ObjectsController
from unet_studio.gui.errors import ask_yes_no, show_error
from unet_studio.gui.exporting import Exporter
from unet_studio.gui.viewer.overlay import OverlayPresenter
from unet_studio.gui.panels.classes_panel import ClassesPanel
from unet_studio.gui.panels.contrast_panel import ContrastPanel
from unet_studio.gui.panels.images_panel import ImagesPanel
from unet_studio.gui.panels.models_panel import ModelsPanel
from unet_studio.gui.panels.objects_panel import ObjectsPanel
from unet_studio.gui.panels.overlay_panel import OverlayPanel
from unet_studio.gui.panels.predict_panel import PredictPanel
from unet_studio.gui.panels.slices_panel import SlicesPanel
from unet_studio.gui.panels.tools_panel import ToolsPanel
from unet_studio.gui.panels.training_panel import TrainingPanel
from unet_studio.gui.training.plane_predictor import PlanePredictor
from unet_studio.gui.project.commands import ProjectCommands
from unet_studio.gui.project.opening import ProjectController
from unet_studio.gui.project.dialogs import IMAGE_FILTER, ProjectDialogs
from unet_studio.gui.project.images import ProjectImages
from unet_studio.gui.project.models import ProjectModels
from unet_studio.gui.project.session import ProjectSession
from unet_studio.gui.window.recent_files import RecentLists
from unet_studio.gui.window.saved_state import SavedStateLabel
from unet_studio.gui.stack_jobs import StackJobs
from unet_studio.gui.window.start_view import StartView
from unet_studio.gui.window.status_line import StatusLine
from unet_studio.gui.window.wiring import connect_parts, menu_slots
from unet_studio.gui.viewer.tool_state import BRUSH, ToolState
from unet_studio.gui.training.live_training import TrainingController
from unet_studio.gui.window.layout import build_layout
from unet_studio.gui.workers import WorkerPool

APP_NAME = "unet_studio"


class MainWindow(QMainWindow):
    """One image at a time: start view until an image or project is open, then the project's
    images and models on the left, the canvas, and the side panels on the right."""

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings()
        self._asking = True   # quitting asks before it stops training (not when the system quits it)
        self.shown = ShownImage()
        self.session = ProjectSession(self)
        self.pool = WorkerPool(self)
        self.tools = ToolState(self)
        self.setAcceptDrops(True)
        self._fit_to_screen(1360, 860)
        self._make_widgets()
        self._make_controllers()
        self.pages, self.workspace, self.project_column = build_layout(self)
        self.actions_by_name = build_menus(self, menu_slots(self))
        self.statusBar().addPermanentWidget(self.objects_panel.status_label)
        self.statusBar().addPermanentWidget(self.saved_state)
        connect_parts(self)
        self.recent.show()
        self._show_document(None)

    @property
    def document(self) -> ImageDocument | None:
        """The image shown (None: start view or an empty project)."""
        return self.shown.document

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Open at `width` x `height`, or 90 % of a smaller screen."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            available = screen.availableGeometry()
            width = min(width, int(available.width() * 0.9))
            height = min(height, int(available.height() * 0.9))
        self.resize(width, height)

    def _make_widgets(self) -> None:
        self.start_view = StartView()
        self.canvas = Canvas(self.tools)
        self.plane_keys = PlaneKeys(self)
        self.slices_panel = SlicesPanel()
        self.tools_panel = ToolsPanel(self.tools)
        self.classes_panel = ClassesPanel(self.tools)
        self.training_panel = TrainingPanel()
        self.overlay_panel = OverlayPanel()
        self.predict_panel = PredictPanel()
        self.contrast_panel = ContrastPanel(self.canvas.image_layer)
        self.export_button = QPushButton("Export masks… (Ctrl+E)")
        self.export_button.setMinimumHeight(30)
        self.images_panel = ImagesPanel()
        self.models_panel = ModelsPanel()
        self.objects_panel = ObjectsPanel()
        self.saved_state = SavedStateLabel(self.session)
        self.status_line = StatusLine(self.statusBar(), self.shown, self)
        self.recent = RecentLists(self.settings, self.start_view, self)

    def _make_controllers(self) -> None:
        session, pool, shown = self.session, self.pool, self.shown
        self.training = TrainingController(pool, self.training_panel, self, session=session)
        self.plane_predictor = PlanePredictor(pool, self)
        self.stack_jobs = StackJobs(pool, self.predict_panel, self)
        self.overlay = OverlayPresenter(self.canvas, self.overlay_panel, self)
        self.objects = ObjectsController(pool, self.objects_panel, self.canvas, self)
        self.status_line.objects = self.objects
        self.exporter = Exporter(self)
        self.dialogs = ProjectDialogs(self)
        self.editing = Editing(shown, session, self)
        self.project_models = ProjectModels(session, self.dialogs, pool, shown, self.training,
                                            self.training_panel, self)
        self.project_images = ProjectImages(session, self.dialogs, pool, shown, self.may_leave_image, self)
        self.projects = ProjectController(session, self.dialogs, self.project_models, self.project_images,
                                          pool, shown, self.may_leave_image, self)
        self.project_commands = ProjectCommands(session, self.projects, self.dialogs, pool, shown,
                                                self.settings, self.may_leave_image, self)

    # ---- what the controllers report -----------------------------------------------------
    @Slot(list)
    def show_images(self, rows: list) -> None:
        self.images_panel.set_rows(rows)
        self.predict_panel.images_button.setVisible(self.session.project is not None and len(rows) > 1)
        self.update_title()   # an image's own project gets a name once it has more

    # ---- opening -------------------------------------------------------------------------
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open image", self.recent.last_folder(), IMAGE_FILTER)
        if paths:
            self.open_files(paths)

    def open_zarr_dialog(self) -> None:
        """OME-Zarr images are folders: the folder dialog picks one."""
        folder = QFileDialog.getExistingDirectory(self, "Open an OME-Zarr image (a .ome.zarr folder)",
                                                  self.recent.last_folder())
        if folder:
            self.open_path(folder)

    def open_sample(self) -> None:
        try:
            from unet_studio.resources import sample_image_path
            path = sample_image_path()
        except (ImportError, FileNotFoundError) as error:
            show_error(self, "Sample not available", str(error) or "the sample image is not installed")
            return
        self.open_path(str(path))

    def open_files(self, paths: list[str]) -> None:
        """Open a project folder, or the first image (with its project) and add the others."""
        self.projects.open_files([str(p) for p in paths])

    @Slot(str)
    def open_path(self, path: str) -> None:
        """Open one image (in a worker) with the project kept for it."""
        self.projects.open_files([path])

    @Slot(object, object)
    def show_image(self, loaded, entry_id: str | None = None) -> ImageDocument | None:
        """Show a LoadedImage (stack, labels, levels), None for no image. `entry_id`: its image
        in the open project; without one the image is not part of a project (nothing saved)."""
        if entry_id is None and loaded is not None:
            self.session.set_project(None)
        self.session.entry_id = entry_id
        document = None if loaded is None else ImageDocument(loaded.stack, loaded.labels, loaded.levels, self)
        self._show_document(document)
        model = self.session.model
        if document is not None and entry_id is not None and model is not None:
            if not document.offer_model(model):
                self.training.tell_model_not_read(model)
        return document

    def _hand_out(self, document: ImageDocument | None) -> None:
        """Give `document` (None: no image) to every part that shows or works on the image."""
        self.shown.document = document
        for part in (self.training, self.plane_predictor, self.stack_jobs, self.overlay,
                     self.objects, self.contrast_panel, self.slices_panel):
            part.set_document(document)
        in_project = document is not None and self.session.entry_id is not None
        self.classes_panel.set_labels(document.labels if document is not None else None,
                                      editor=self.session.project if in_project else None)
        self.session.watch(document.labels if in_project else None, lambda: self.canvas.painting)

    def _show_document(self, document: ImageDocument | None) -> None:
        old = self.shown.document
        self._hand_out(document)
        if old is not None:
            # Workers of the old image (asked to stop above) may still read its file: let them
            # end before the file is closed (a training step or a tile, well under a second).
            self.pool.stop_all(image_only=True)
            old.close()
            old.deleteLater()
        self.project_column.setVisible(self.session.project is not None)
        if document is None:
            self.canvas.set_labels(None)
            self.canvas.set_image(None)
            showing_project = self.session.project is not None
            self.pages.setCurrentWidget(self.workspace if showing_project else self.start_view)
        else:
            document.plane_changed.connect(self._show_plane)
            document.display_changed.connect(self._show_plane)
            document.predictions_changed.connect(self.status_line.refresh)   # a new preview under a still mouse
            self._show_plane()
            self.canvas.fit()
            self.pages.setCurrentWidget(self.workspace)
            # Ready to paint at once: brush, class 1.
            self.tools.set_tool(BRUSH)
            self.tools.set_active_class(1)
            self.canvas.setFocus()
        self.update_title()
        self.saved_state.show_state()
        self._enable_actions()

    def _enable_actions(self) -> None:
        has_image, has_project = self.document is not None, self.session.project is not None
        for name in (*EXPORT_COMMANDS, "export_labels", "export_model", "train", "predict_all",
                     "undo", "redo", "export_bioimageio", "start_from_file"):
            self.actions_by_name[name].setEnabled(has_image)
        for name in ("save_as", "add_images", "export_bundle", "save_now"):
            self.actions_by_name[name].setEnabled(has_project)
        self.actions_by_name["predict_images"].setEnabled(has_image and has_project)

    def update_title(self) -> None:
        """"<image> — <project> — unet_studio"; an image's own project is not named."""
        parts = [self.document.name] if self.document is not None else []
        project = self.session.project
        if project is not None and not self.session.is_image_project:
            parts.append(project.name)
        self.setWindowTitle(" — ".join(parts + [APP_NAME]))

    @Slot()
    def _show_plane(self, *_args) -> None:
        document = self.document
        if document is None:
            return
        image, levels = document.display_image()
        self.canvas.set_image(image, levels)
        self.canvas.set_labels(document.labels, document.t, document.z)
        self.contrast_panel.sync()
        self.status_line.refresh()

    # ---- dialogs -------------------------------------------------------------------------
    def show_model_view(self) -> None:
        from unet_studio.gui.training.network_summary import ModelViewDialog
        dialog = ModelViewDialog(self.pool, self.document, self.training.config_options, self)
        dialog.show()

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", SHORTCUTS_HELP)

    # ---- window events -------------------------------------------------------------------
    def save_now(self) -> None:
        """Ctrl+S: write pending strokes at once (a failure is reported by the autosave)."""
        if self.session.project is not None and self.session.flush(timeout=10.0):
            self.statusBar().showMessage("All labels are saved.", 3000)

    def unsaved_labels(self) -> bool:
        """True while strokes are not written to the project yet (autosave follows shortly)."""
        return self.session.unsaved

    def may_leave_image(self, doing: str, within_project: bool = False) -> bool:
        """Ask before an action that ends training (strokes need no question: they are saved).
        within_project: another image of the project is shown next, where training goes on
        (TrainingController.go_on_elsewhere): nothing to ask."""
        if within_project and self.training.running:
            self.training.go_on_elsewhere()
            return True
        if self.training.running and not ask_yes_no(
                self, "Training is running", f"Stop training and {doing}? The model trained so far is kept."):
            return False
        self.training.forget_going_on()   # (quitting, another project...: nothing goes on)
        self.training.stop()
        return True

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.WindowStateChange:
            self.training.out_of_sight = self.isMinimized()
        super().changeEvent(event)

    def quit_without_questions(self) -> None:
        """Quit as File > Quit does, asking nothing (the system ends the session, or Ctrl+C in
        the terminal it was started from): training stops and keeps its model, the strokes are
        written as far as the disk lets them."""
        self._asking = False
        self.close()

    def closeEvent(self, event) -> None:
        asking = self._asking
        if asking and not self.may_leave_image("quit"):
            event.ignore()
            return
        if not asking:
            self.training.forget_going_on()
            self.training.stop()
        self.statusBar().showMessage("Stopping…")
        self.pool.stop_all()   # training keeps its last model in the project before it ends
        if not self.session.flush() and asking and not ask_yes_no(
                self, "Labels not saved",
                f"Your latest strokes could not be written: "
                f"{self.session.autosaver.last_error or 'the disk is too slow'}.\n\n"
                "Quit anyway and lose them? (No: then use File > Save Project As.)"):
            event.ignore()
            return
        self.projects.remember_shown_image()
        self.session.close()
        # Signals the stopped workers sent are still queued (e.g. training's last model): with
        # no document left they change nothing, and nothing starts on the closed file.
        document = self.document
        self._hand_out(None)
        if document is not None:
            document.close()
        event.accept()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """Dropped on the start view: opened. Dropped while a project is shown: added to it."""
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            if self.session.project is not None and self.pages.currentWidget() is self.workspace:
                self.project_images.add_images(paths)
            else:
                self.open_files(paths)
