"""File > Export: ask where to save, then hand the work to StackJobs (a worker)."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from unet_studio.workflow.opening import is_bundled_sample
from unet_studio.workflow.export import INSTANCES, MASK, PROBABILITIES, output_name, output_stem

TIFF_FILTER = "TIFF images (*.tif *.tiff)"
MODEL_FILTER = "unet_studio models (*.pt)"
CSV_FILTER = "CSV tables (*.csv)"
ROI_FILTER = "ImageJ ROI sets (*.zip)"


class Exporter:
    """The export commands of the window; `ask_path` is replaceable (tests answer it)."""

    def __init__(self, window):
        self.window = window

    def ask_path(self, title: str, suggested: str, file_filter: str) -> str | None:
        folder = self._folder()
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(folder / suggested), file_filter)
        return path or None

    def ask_class(self, names: list[str]) -> int | None:
        """Which class to split into objects (1-based), or None if cancelled."""
        if len(names) == 2:
            return 2  # background + one class: nothing to ask
        name, ok = QInputDialog.getItem(self.window, "Export instance labels",
                                        "Split the objects of class:", names, 1 if len(names) > 1 else 0, False)
        return names.index(name) + 1 if ok else None

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

    def _export_prediction(self, title: str, kind: str, **options) -> None:
        """Ask where to write, then predict the whole stack and write `kind` there (a worker)."""
        document = self._document()
        if document is None:
            return
        path = self.ask_path(title, output_name(output_stem(document.name), kind), TIFF_FILTER)
        if path:
            self.window.stack_jobs.export_prediction(path, kind, **options)

    def masks(self) -> None:
        self._export_prediction("Export masks", MASK)

    def probabilities(self) -> None:
        self._export_prediction("Export probabilities", PROBABILITIES)

    def instances(self) -> None:
        document = self._document()
        if document is None:
            return
        k = self.ask_class([c.name for c in document.labels.classes])
        if k is not None:
            self._export_prediction("Export instance labels", INSTANCES, instances_class=k)

    def _export_objects(self, title: str, suffix: str, file_filter: str, what: str) -> None:
        """The objects of the Objects panel's class, with its object size, in every plane."""
        document = self._document()
        if document is None:
            return
        path = self.ask_path(title, f"{output_stem(document.name)}{suffix}", file_filter)
        if path:
            panel = self.window.objects_panel
            self.window.stack_jobs.export_objects(path, what, panel.chosen_class, panel.object_size)

    def objects_table(self) -> None:
        self._export_objects("Export objects table", "_objects.csv", CSV_FILTER, "csv")

    def objects_rois(self) -> None:
        self._export_objects("Export objects as ImageJ ROIs", "_rois.zip", ROI_FILTER, "rois")

    def labels(self) -> None:
        document = self._document()
        if document is None:
            return
        path = self.ask_path("Export labels", f"{output_stem(document.name)}_labels.tif", TIFF_FILTER)
        if path:
            self.window.stack_jobs.export_labels(path)

    def model(self) -> None:
        document = self._document()
        if document is None:
            return
        path = self.ask_path("Export model", f"{output_stem(document.name)}_model.pt", MODEL_FILTER)
        if path:
            self.window.stack_jobs.export_model(path)
