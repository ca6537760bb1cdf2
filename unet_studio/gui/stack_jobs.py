"""Whole-stack work in a worker: predict all planes, and the File > Export commands.

One job at a time, shown in the predict panel's progress bar with a Cancel button. Exports
predict every Z and T and write the TIFF plane by plane through workflow/export.py (the same
names, values and calibration as the CLI); the file appears when complete. A cancelled job
writes nothing. Jobs with a model run on every CPU core, as the CLI does, unless training
runs (it keeps a core for the window, and the count is the whole process's).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.gui.errors import show_error
from unet_studio.gui.workers import GeneratorWorker, WorkerPool
from unet_studio.workflow.export import INSTANCES, MASK, OBJECTS, PredictionOptions


def predict_all(model, stack) -> Iterator[tuple]:
    """Worker generator: ("progress", fraction) items, then ("result", StackPrediction)."""
    from unet_studio.ml.predict import predict_stack  # worker thread: may load torch

    for progress in predict_stack(model, stack):
        yield ("progress", progress.fraction)
        if progress.done:
            yield ("result", progress.result)


def export_prediction(model, stack, path: Path, what: str, ready=None,
                      options: PredictionOptions = PredictionOptions()) -> Iterator[tuple]:
    """Worker generator: predict the whole stack and write `what` (a kind of
    workflow/export.py: masks, probabilities, instances, the objects table, ROIs) to `path`
    plane by plane, or write `ready` (masks already predicted); ends with ("written", path).
    options: how (the Objects panel's export_choice for the objects)."""
    from unet_studio.workflow.export import held_masks_to_file, predict_to_files

    if ready is not None:
        yield ("writing", 1.0)
        written = held_masks_to_file(ready, stack, model.classes, path)
    else:
        written = None
        for step in predict_to_files(model, stack, {what: Path(path)}, options):
            if step.written is None:
                yield ("progress", step.fraction)
            written = step.written
    yield ("written", str(written[0]))


def predict_all_images(model, entries: list, folder: str | Path,
                       options: PredictionOptions = PredictionOptions()) -> Iterator[tuple]:
    """Worker generator: predict every image of the project (entries) into `folder`
    (workflow/batch.py): masks and, with options.object_class (the Objects panel's choice), each
    image's objects and table, and the counts per image (workflow/object_summary.py); ends with
    ("all_written", (number written, [skipped: reason], folder, the counts' file name or ""))."""
    from unet_studio.workflow.batch import plan_outputs, predict_images
    from unet_studio.workflow.image_paths import FoundImage
    from unet_studio.workflow.object_summary import write_summary

    kinds = [MASK, INSTANCES, OBJECTS] if options.object_class else [MASK]
    plan = plan_outputs([FoundImage(entry.path, scene=entry.scene) for entry in entries], folder, kinds)
    written, skipped = [], []
    for step in predict_images(model, plan, options):
        yield ("progress", step.fraction)
        if step.written is not None:
            written.append(plan[step.image])
        if step.skipped:
            skipped.append(step.skipped)
    table = write_summary(written, folder) if options.object_class else None
    yield ("all_written", (len(written), skipped, str(folder), table.name if table else ""))


def export_bundle(project, path: str | Path) -> Iterator[tuple]:
    """Write the project's reproducibility bundle (core/bundle.py); ends with ("written", path)."""
    yield ("busy", None)
    written = project.export_bundle(path)
    yield ("written", str(written))


def export_labels(labels, path: Path) -> Iterator[tuple]:
    version = labels.version  # what the file holds (strokes after this are not in it)
    labels.save(path)  # atomic, with class names and colours
    yield ("labels_saved", version)
    yield ("written", str(path))


def export_model(model, path: Path) -> Iterator[tuple]:
    from unet_studio.ml.model_file import save_model  # torch: worker thread only

    save_model(path, model)
    yield ("written", str(path))


def export_bioimageio(model, stack, path: Path, details) -> Iterator[tuple]:
    """Write `model` as a bioimage.io package (workflow/bioimageio.py) with test tensors from
    `stack`; `details`: name, authors, license, description. Ends with ("written", path)."""
    from unet_studio.workflow.bioimageio import export_bioimageio as write_package

    yield ("busy", None)
    written = write_package(model, path, sample_image=stack, name=details.name, authors=details.authors,
                            license=details.license, description=details.description)
    yield ("written", str(written))


def _on_every_core(make_generator):
    """The job's generator run with every CPU core (ml/device.every_cpu_core): the user waits
    for it, and the window needs little meanwhile."""
    def run() -> Iterator[tuple]:
        from unet_studio.ml.device import every_cpu_core  # worker thread: may load torch

        with every_cpu_core():
            yield from make_generator()
    return run


class StackJobs(QObject):
    """Runs predict-all and exports for the open document, one at a time."""

    busy_changed = Signal(bool)
    written = Signal(str)   # path of a file an export wrote
    labels_saved = Signal(int)  # LabelVolume.version that was written

    def __init__(self, pool: WorkerPool, panel, parent_widget=None):
        super().__init__(parent_widget)
        self.pool = pool
        self.panel = panel
        self.parent_widget = parent_widget
        self.document = None
        self._worker: GeneratorWorker | None = None
        self._job_document = None
        self._job_model = None
        self._result_model = None   # the model whose predict-all result the document holds
        self._training = False
        panel.predict_all_clicked.connect(self.predict_all)
        panel.cancel_clicked.connect(self.cancel)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def set_document(self, document) -> None:
        self.cancel()
        self.document = document
        self._result_model = None
        self.panel.show_status("")
        # With a single plane the overlay already is the whole prediction.
        self.panel.predict_button.setVisible(
            document is not None and document.stack.n_t * document.stack.n_z > 1)

    def ready_for_model_job(self) -> bool:
        """Whether there is a model to run and no other whole-stack job; says why not."""
        if self.document is None:
            return False
        if self.document.model is None:
            show_error(self.parent_widget, "No model yet",
                       "Train a model first: paint a few strokes, press Train, and Stop when "
                       "the prediction looks right.")
            return False
        if not self.document.model_fits_classes:
            known = ", ".join(c["name"] for c in self.document.model.classes)
            now = ", ".join(c.name for c in self.document.labels.classes)
            show_error(self.parent_widget, "The classes changed",
                       f"The model was trained on {self.document.model.n_classes} classes ({known}); the "
                       f"image now has {len(self.document.labels.classes)} ({now}). Press Train to teach "
                       "it the classes as they are now, then try again.")
            return False
        if self.busy:
            show_error(self.parent_widget, "Busy", "Another whole-stack job is running; wait or cancel it.")
            return False
        return True

    # ---- commands ------------------------------------------------------------------------
    @Slot()
    def predict_all(self) -> None:
        if self.ready_for_model_job():
            model, stack = self.document.model, self.document.stack
            self._run(lambda: predict_all(model, stack), "Predicting", model)

    def export_prediction(self, path: str | Path, what: str,
                          options: PredictionOptions = PredictionOptions()) -> None:
        """Write `what` (a kind of workflow/export.py) for every plane to `path`; masks already
        predicted by this model are written from memory. options: the Objects panel's
        export_choice, for the kinds that split a class into objects."""
        if not self.ready_for_model_job():
            return
        model, stack = self.document.model, self.document.stack
        stored = self.document.predictions.stack_result
        ready = stored if (what == MASK and stored is not None and self._result_model is model) else None
        self._run(lambda: export_prediction(model, stack, Path(path), what, ready, options),
                  "Exporting" if ready is not None else "Predicting", model)

    def export_labels(self, path: str | Path) -> None:
        if self.document is not None and not self.busy:
            labels = self.document.labels
            self._run(lambda: export_labels(labels, Path(path)), "Saving labels", None)

    def export_model(self, path: str | Path) -> None:
        if self.ready_for_model_job():
            model = self.document.model
            self._run(lambda: export_model(model, Path(path)), "Saving model", model)

    def export_bioimageio(self, path: str | Path, details) -> None:
        if self.ready_for_model_job():
            model, stack = self.document.model, self.document.stack
            self._run(lambda: export_bioimageio(model, stack, Path(path), details), "Writing the package", model)

    def predict_all_images(self, entries: list, folder: str | Path,
                           options: PredictionOptions = PredictionOptions()) -> None:
        """Predict every image of the project (entries) and write their masks into `folder`, with
        their objects and the counts per image where options (the Objects panel's) name a class."""
        if self.ready_for_model_job():
            model = self.document.model
            self._run(lambda: predict_all_images(model, entries, folder, options), "Predicting all images", model)

    def export_bundle(self, project, path: str | Path) -> None:
        if self.busy:
            show_error(self.parent_widget, "Busy", "Another job is running; wait or cancel it.")
            return
        self._run(lambda: export_bundle(project, path), "Writing the bundle", None)

    @Slot()
    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self.panel.show_status("Cancelling…")

    @Slot(bool)
    def set_training(self, running: bool) -> None:
        """Training runs (it has a core fewer than the machine, for the window): jobs started
        meanwhile leave the thread count alone."""
        self._training = running

    # ---- worker plumbing -----------------------------------------------------------------
    def _run(self, make_generator, what: str, model) -> None:
        if model is not None and not self._training:
            make_generator = _on_every_core(make_generator)
        worker = GeneratorWorker(make_generator, name=what.lower().replace(" ", "-"))
        worker.yielded.connect(self._on_item)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._job_document = self.document
        self._job_model = model
        self.panel.set_busy(what)
        self.panel.show_status("")
        self.busy_changed.emit(True)
        self.pool.start(worker)

    @Slot(object)
    def _on_item(self, item: tuple) -> None:
        kind, value = item
        if kind == "progress":
            self.panel.show_fraction(value)
        elif kind == "writing":
            self.panel.set_busy("Writing")
            self.panel.show_fraction(1.0)
        elif kind == "result" and self._job_document is self.document and self._job_model is self.document.model:
            # (the result of a model no longer shown, left for another or for a new one: dropped)
            self._result_model = self._job_model
            self.document.put_stack_prediction(value)
            self.panel.show_status("Every plane is predicted. File > Export masks saves them.")
        elif kind == "busy":
            self.panel.show_fraction(None)
        elif kind == "all_written":
            count, skipped, folder, table = value
            what = "masks and objects" if table else "masks"
            text = f"Saved the {what} of {count} image{'s' if count != 1 else ''} in {folder}."
            if table:
                text += f" Counts per image: {table}."
            if skipped:
                text += " Skipped: " + "; ".join(skipped)
            self.panel.show_status(text)
            self.written.emit(folder)
        elif kind == "labels_saved":
            self.labels_saved.emit(value)
        elif kind == "written":
            self.panel.show_status(f"Saved {Path(value).name}")
            self.written.emit(value)

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        show_error(self.parent_widget, "Could not finish", reason)

    @Slot()
    def _on_finished(self) -> None:
        stopped = self._worker is not None and self._worker.stopped
        self._worker = None
        self.panel.set_busy(None)
        if stopped:
            self.panel.show_status("Cancelled; nothing was written.")
        self.busy_changed.emit(False)
