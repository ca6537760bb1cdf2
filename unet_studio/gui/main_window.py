"""The main window: composes the start view, canvas, panels and controllers, and wires them.

State lives in the document (core objects) and in the controllers; this class only builds the
widgets, connects signals and handles window-level events (open, drop, close).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from unet_studio.gui.actions import SHORTCUTS_HELP, build_menus
from unet_studio.gui.canvas import Canvas
from unet_studio.gui.cursor_readout import describe_pixel
from unet_studio.gui.document import ImageDocument
from unet_studio.gui.errors import ask_yes_no, show_error
from unet_studio.gui.exporting import Exporter
from unet_studio.gui.loading import load_image
from unet_studio.gui.overlay import OverlayPresenter
from unet_studio.gui.panels.classes_panel import ClassesPanel
from unet_studio.gui.panels.contrast_panel import ContrastPanel
from unet_studio.gui.panels.overlay_panel import OverlayPanel
from unet_studio.gui.panels.predict_panel import PredictPanel
from unet_studio.gui.panels.slices_panel import SlicesPanel
from unet_studio.gui.panels.tools_panel import ToolsPanel
from unet_studio.gui.panels.training_panel import TrainingPanel
from unet_studio.gui.plane_predictor import PlanePredictor
from unet_studio.gui.recent_files import add_recent_file, recent_files
from unet_studio.gui.stack_jobs import StackJobs
from unet_studio.gui.start_view import StartView
from unet_studio.gui.tool_state import BRUSH, ToolState
from unet_studio.gui.training import TrainingController
from unet_studio.gui.workers import GeneratorWorker, WorkerPool

APP_NAME = "unet_studio"
IMAGE_FILTER = "Images (*.tif *.tiff *.btf *.png *.jpg *.jpeg);;All files (*)"


def _section(title: str, *widgets: QWidget, hint: str = "") -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(8, 6, 8, 8)
    if hint:
        label = QLabel(hint)
        label.setWordWrap(True)
        label.setStyleSheet("color: #555")
        layout.addWidget(label)
    for widget in widgets:
        layout.addWidget(widget)
    return box


class MainWindow(QMainWindow):
    """One image at a time: start view until an image is open, then canvas + side panels."""

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings()
        self.document: ImageDocument | None = None
        self.saved_labels_version = 0
        self.pool = WorkerPool(self)
        self.tools = ToolState(self)
        self.setAcceptDrops(True)
        self._fit_to_screen(1360, 860)

        # ---- widgets ----
        self.start_view = StartView()
        self.canvas = Canvas(self.tools)
        self.slices_panel = SlicesPanel()
        self.tools_panel = ToolsPanel(self.tools)
        self.classes_panel = ClassesPanel(self.tools)
        self.training_panel = TrainingPanel()
        self.overlay_panel = OverlayPanel()
        self.predict_panel = PredictPanel()
        self.contrast_panel = ContrastPanel(self.canvas.image_layer)
        self.export_button = QPushButton("Export masks… (Ctrl+E)")
        self.export_button.setMinimumHeight(30)

        # ---- controllers ----
        self.training = TrainingController(self.pool, self.training_panel, self)
        self.plane_predictor = PlanePredictor(self.pool, self)
        self.stack_jobs = StackJobs(self.pool, self.predict_panel, self)
        self.overlay = OverlayPresenter(self.canvas, self.overlay_panel, self)
        self.exporter = Exporter(self)

        self._build_layout()
        self.actions_by_name = build_menus(self)
        self._connect()
        self.start_view.set_recent(recent_files(self.settings))
        self._show_document(None)

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Open at `width` x `height`, or 90 % of a smaller screen."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            available = screen.availableGeometry()
            width = min(width, int(available.width() * 0.9))
            height = min(height, int(available.height() * 0.9))
        self.resize(width, height)

    def _build_layout(self) -> None:
        viewer = QWidget()
        column = QVBoxLayout(viewer)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.canvas, 1)
        column.addWidget(self.slices_panel)

        sidebar = QWidget()
        panels = QVBoxLayout(sidebar)
        panels.setContentsMargins(6, 6, 6, 6)
        panels.addWidget(_section("1  Paint", self.tools_panel, self.classes_panel,
                                  hint="Paint a few strokes inside objects and on the background. "
                                       "Wheel zooms, Space+drag pans."))
        panels.addWidget(_section("2  Train", self.training_panel))
        panels.addWidget(_section("3  Check the prediction", self.overlay_panel, self.predict_panel,
                                  hint="Paint corrections where it is wrong; training uses them at once."))
        panels.addWidget(_section("4  Export", self.export_button,
                                  hint="Masks for Fiji or napari; more in the File menu."))
        panels.addWidget(_section("Image", self.contrast_panel))
        panels.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(sidebar)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(380)

        self.workspace = QWidget()
        row = QHBoxLayout(self.workspace)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(viewer, 1)
        row.addWidget(scroll)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.start_view)
        self.pages.addWidget(self.workspace)
        self.setCentralWidget(self.pages)
        self.statusBar()

    def _connect(self) -> None:
        self.start_view.open_clicked.connect(self.open_dialog)
        self.start_view.sample_clicked.connect(self.open_sample)
        self.start_view.recent_chosen.connect(self.open_path)
        self.export_button.clicked.connect(self.exporter.masks)
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.canvas.slice_step.connect(self.step_plane)
        self.canvas.view.sigRangeChanged.connect(self._view_moved)
        self.training.running_changed.connect(self._training_running)
        self.stack_jobs.labels_saved.connect(self._labels_saved)

    # ---- opening -------------------------------------------------------------------------
    def open_dialog(self) -> None:
        folder = str(Path(recent_files(self.settings)[0]).parent) if recent_files(self.settings) else ""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open image", folder, IMAGE_FILTER)
        if paths:
            self.open_files(paths)

    def open_sample(self) -> None:
        try:
            from unet_studio.resources import sample_image_path
            path = sample_image_path()
        except (ImportError, FileNotFoundError) as error:
            show_error(self, "Sample not available", str(error) or "the sample image is not installed")
            return
        self.open_path(str(path))

    def open_files(self, paths: list[str]) -> None:
        """Open the first of `paths` (one image at a time); say so if more were given."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        if len(paths) > 1:
            self.statusBar().showMessage(
                f"unet_studio shows one image at a time: opened {Path(paths[0]).name}", 8000)
        self.open_path(paths[0])

    @Slot(str)
    def open_path(self, path: str) -> None:
        """Open `path` in a worker; the window stays responsive while a big stack loads."""
        if not self._may_discard("open another image"):
            return
        worker = GeneratorWorker(lambda: load_image(path), name="open")
        worker.yielded.connect(self._loaded)
        worker.failed.connect(self._open_failed)
        worker.finished.connect(self._open_finished)
        self._opening_path = path
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
        self.setCursor(Qt.CursorShape.BusyCursor)
        self.pool.start(worker)

    @Slot(object)
    def _loaded(self, loaded) -> None:
        self.show_image(loaded)
        add_recent_file(self._opening_path, self.settings)
        self.start_view.set_recent(recent_files(self.settings))

    def show_image(self, loaded) -> ImageDocument:
        """Show a LoadedImage (stack, labels, levels) as the open document."""
        document = ImageDocument(loaded.stack, loaded.labels, loaded.levels, self)
        self._show_document(document)
        return document

    @Slot(str)
    def _open_failed(self, reason: str) -> None:
        show_error(self, "Cannot open the image", reason)

    @Slot()
    def _open_finished(self) -> None:
        self.unsetCursor()
        self.statusBar().clearMessage()

    def _show_document(self, document: ImageDocument | None) -> None:
        old, self.document = self.document, document
        for part in (self.training, self.plane_predictor, self.stack_jobs, self.overlay,
                     self.contrast_panel, self.slices_panel):
            part.set_document(document)
        self.classes_panel.set_labels(document.labels if document is not None else None)
        if old is not None:
            # Workers of the old image (asked to stop above) may still read its file: let them
            # end before the file is closed (a training step or a tile, well under a second).
            self.pool.stop_all()
            old.close()
            old.deleteLater()
        self.saved_labels_version = 0
        if document is None:
            self.canvas.set_labels(None)
            self.canvas.set_image(None)
            self.pages.setCurrentWidget(self.start_view)
            self.setWindowTitle(APP_NAME)
        else:
            document.plane_changed.connect(self._show_plane)
            document.display_changed.connect(self._show_plane)
            self._show_plane()
            self.canvas.fit()
            self.pages.setCurrentWidget(self.workspace)
            self.setWindowTitle(f"{document.name} — {APP_NAME}")
            # Ready to paint at once: brush, class 1.
            self.tools.set_tool(BRUSH)
            self.tools.set_active_class(1)
            self.canvas.setFocus()
        for name in ("export_masks", "export_probabilities", "export_instances", "export_labels",
                     "export_model", "train", "predict_all", "undo", "redo"):
            self.actions_by_name[name].setEnabled(document is not None)

    @Slot()
    def _show_plane(self, *_args) -> None:
        document = self.document
        image, levels = document.display_image()
        self.canvas.set_image(image, levels)
        self.canvas.set_labels(document.labels, document.t, document.z)
        self.contrast_panel.sync()

    # ---- editing and navigation ----------------------------------------------------------
    def undo(self) -> None:
        if self.document is not None and not self.document.labels.undo():
            self.statusBar().showMessage("Nothing to undo", 2000)

    def redo(self) -> None:
        if self.document is not None and not self.document.labels.redo():
            self.statusBar().showMessage("Nothing to redo", 2000)

    @Slot(int, int)
    def step_plane(self, dt: int, dz: int) -> None:
        if self.document is not None:
            self.document.set_plane(self.document.t + dt, self.document.z + dz)

    @Slot(object)
    def _cursor_moved(self, pixel) -> None:
        if self.document is None or pixel is None:
            self.statusBar().clearMessage()
            return
        self.statusBar().showMessage(describe_pixel(self.document, *pixel))

    @Slot()
    def _view_moved(self, *_args) -> None:
        """Tell training which part of the plane is on screen: previews of a big plane are
        computed only there when the user has zoomed in."""
        self.training.visible_region = self.canvas.visible_region()

    @Slot(bool)
    def _training_running(self, running: bool) -> None:
        self.plane_predictor.set_paused(running)

    @Slot(int)
    def _labels_saved(self, version: int) -> None:
        self.saved_labels_version = version

    # ---- dialogs -------------------------------------------------------------------------
    def show_model_view(self) -> None:
        from unet_studio.gui.model_view import ModelViewDialog
        dialog = ModelViewDialog(self.pool, self.document, self.training.config_options, self)
        dialog.show()

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", SHORTCUTS_HELP)

    # ---- window events -------------------------------------------------------------------
    def unsaved_labels(self) -> bool:
        """True when strokes were painted since the last labels export."""
        return self.document is not None and self.document.labels.version != self.saved_labels_version

    def _may_discard(self, doing: str) -> bool:
        """Ask before an action that ends training or drops unsaved strokes."""
        if self.training.running and not ask_yes_no(
                self, "Training is running", f"Stop training and {doing}?"):
            return False
        if self.unsaved_labels() and not ask_yes_no(
                self, "Unsaved labels", f"Your strokes are not saved (File > Export labels). "
                                        f"Discard them and {doing}?"):
            return False
        self.training.stop()
        return True

    def closeEvent(self, event) -> None:
        if not self._may_discard("quit"):
            event.ignore()
            return
        self.statusBar().showMessage("Stopping…")
        self.pool.stop_all()
        if self.document is not None:
            self.document.close()
        event.accept()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)
