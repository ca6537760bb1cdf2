"""File > Export: ask where to save, then hand the work to StackJobs (a worker).

The prediction exports are the kinds of workflow/export.py (`export(what)`); those that split
a class into objects use the Objects panel's class and object size, so the files hold the
objects the panel shows."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from unet_studio.workflow.export import NEEDS_OBJECT_CLASS, WRITERS, file_filter, output_name, stack_stem
from unet_studio.workflow.opening import is_bundled_sample

TIFF_FILTER = "TIFF images (*.tif *.tiff)"
MODEL_FILTER = "unet_studio models (*.pt)"
PACKAGE_FILTER = "bioimage.io packages (*.zip)"


class Exporter:
    """The export commands of the window; `ask_path` is replaceable (tests answer it)."""

    def __init__(self, window):
        self.window = window

    def ask_package_details(self, image_name: str):
        from unet_studio.gui.bioimageio_dialog import ask_package_details

        return ask_package_details(image_name, self.window)

    def ask_path(self, title: str, suggested: str, file_filter: str) -> str | None:
        folder = self._folder()
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(folder / suggested), file_filter)
        return path or None

    def _folder(self) -> Path:
        """Beside the image, unless that folder cannot be written (e.g. the bundled sample)."""
        document = self.window.document
        if document is not None and document.stack.path is not None:
            folder = Path(document.stack.path).parent
            if os.access(folder, os.W_OK) and not is_bundled_sample(document.stack.path):
                return folder
        return Path.home()

    def _document(self):
        return self.window.document

    def _model_ready(self) -> bool:
        """An image with a model to export or run (else says why, before asking anything)."""
        return self._document() is not None and self.window.stack_jobs.ready_for_model_job()

    def export(self, what: str) -> None:
        """Ask where to write, then predict the whole stack and write `what` there (a worker)."""
        document = self._document()
        if not self._model_ready():
            return
        title = "Export " + WRITERS[what].title.replace("&", "")
        path = self.ask_path(title, output_name(stack_stem(document.stack), what), file_filter(what))
        if not path:
            return
        if what in NEEDS_OBJECT_CLASS:
            self.window.stack_jobs.export_prediction(path, what, self.window.objects_panel.export_choice())
        else:
            self.window.stack_jobs.export_prediction(path, what)

    def labels(self) -> None:
        document = self._document()
        if document is None:
            return
        path = self.ask_path("Export labels", f"{stack_stem(document.stack)}_labels.tif", TIFF_FILTER)
        if path:
            self.window.stack_jobs.export_labels(path)

    def model(self) -> None:
        document = self._document()
        if not self._model_ready():
            return
        path = self.ask_path("Export model", f"{stack_stem(document.stack)}_model.pt", MODEL_FILTER)
        if path:
            self.window.stack_jobs.export_model(path)

    def bioimageio(self) -> None:
        """Model > Export for bioimage.io: the current model as a package (ilastik, deepImageJ,
        Fiji, napari), its test tensors from the image shown."""
        document = self._document()
        if not self._model_ready():
            return
        details = self.ask_package_details(document.name)
        if details is None:
            return
        path = self.ask_path("Export for bioimage.io", f"{stack_stem(document.stack)}_bioimageio.zip",
                             PACKAGE_FILTER)
        if path:
            self.window.stack_jobs.export_bioimageio(path, details)
