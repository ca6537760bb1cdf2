"""Live training: runs the engine's `train` generator in a worker and routes its reports.

Training goes on while the user paints: the engine re-reads the LabelVolume when its version
changes, so new strokes are used as they arrive. Every few seconds the engine predicts the
plane the user is looking at (we tell it which through `preview_request`); that preview becomes
the overlay. Stop asks the engine for a last report (should_stop), whose model is kept.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from unet_studio.core.errors import UnetStudioError
from unet_studio.core.model_history import steps_up_to
from unet_studio.gui.errors import show_error
from unet_studio.workflow.training_run import RunPlan, training_run
from unet_studio.gui.workers import GeneratorWorker, WorkerPool

MESSAGE_HOLD_S = 8.0   # an engine message (a new class, out of memory) stays readable this long


@dataclass
class TrainingUpdate:
    """A training report prepared in the worker thread for the GUI (no torch objects)."""

    step: int
    loss: float
    patches_per_s: float
    device: str
    message: str
    done: bool
    preview: tuple | None = None   # (t, z, region, probabilities, mask, uncertainty)
    model: Any = None              # a Model copy, safe to use from any thread
    extra: dict = field(default_factory=dict)


def _prepare_update(progress) -> TrainingUpdate:
    """Runs in the worker thread: copy what the GUI needs, compute the uncertainty map."""
    update = TrainingUpdate(int(progress.step), float(progress.loss), float(progress.patches_per_s),
                            str(progress.device), str(progress.message or ""), bool(progress.done))
    if progress.preview is not None and progress.preview_for is not None:
        request = tuple(progress.preview_for)
        t, z = int(request[1]), int(request[2])
        region = tuple(int(v) for v in request[3]) if len(request) > 3 and request[3] is not None else None
        p = progress.preview
        update.preview = (t, z, region, np.asarray(p.probabilities), np.asarray(p.mask),
                          np.asarray(p.uncertainty()), p.boundary)
    if progress.done or progress.preview is not None:
        # The live model belongs to the training thread; the GUI gets a snapshot.
        update.model = progress.model.copy()
    return update


def _prepare_item(item: tuple) -> tuple:
    """Worker-side transform of training_run's items: progress reports become TrainingUpdates."""
    kind, value = item
    return (kind, _prepare_update(value)) if kind == "progress" else item


# Linux nice levels below the window: where they share a core, training gets about a tenth.
TRAINING_NICENESS = 10


def leave_a_core_for_the_window() -> None:
    """Torch's threads: one fewer than there are cores (at least one). What the app's work
    starts with, and training's where a thread cannot lower its priority (see
    share_the_cores_with_the_window).

    With every core busy in torch at the window's priority, the GUI thread waits for a core and
    painting stutters. (Counted from the cores each time, so every Train gets the same;
    training's pick_device keeps this choice.)
    """
    from unet_studio.ml.device import use_cpu_cores

    use_cpu_cores(leave=1)


def share_the_cores_with_the_window() -> None:
    """How training on the CPU shares the cores with the window; called in the training thread
    before its first torch work.

    Where a thread may lower its own priority (Linux), training runs below the window and takes
    every core other programs leave free: the window gets a core the moment it needs one, so
    painting stays smooth, and no core stands idle while the user only watches (about 1.7x the
    steps of one thread fewer on 2 cores, benchmarks/README.md). The threads torch starts for
    this thread inherit its priority and end with it. Elsewhere, one thread fewer than there
    are cores.
    """
    from unet_studio.ml.device import cores_busy_elsewhere, lower_this_threads_priority, use_cpu_cores

    if lower_this_threads_priority(TRAINING_NICENESS):
        use_cpu_cores(leave=cores_busy_elsewhere(0.1))
    else:
        leave_a_core_for_the_window()


def trains_on_the_cpu(preference: str) -> bool:
    """Whether a run asked for `preference` ("auto", "cpu", "cuda", "mps") trains on the CPU:
    only then does it share the cores with the window (a GPU's run keeps its thread at the usual
    priority, so a busy CPU does not starve the GPU). False for a device that is not there: the
    run itself says so."""
    from unet_studio.core.errors import TrainingInputError
    from unet_studio.ml.device import pick_device

    try:
        return pick_device(preference).type == "cpu"
    except TrainingInputError:
        return False


class TrainingController(QObject):
    """Starts and stops training of the open document; shows progress in the training panel.

    `config_options` are passed to the engine's TrainConfig (tests use a tiny network and a
    few steps; the app trains until stopped).
    """

    running_changed = Signal(bool)
    # The model of a finished run, and the project it trained in (None: an image on its own):
    # stored in the document it trained on if that is still shown; the project's model now.
    model_ready = Signal(object, object)
    model_kept = Signal(object)   # ModelEntry: the project keeps the run's model
    keep_failed = Signal(str)     # the project could not keep it (why)

    def __init__(self, pool: WorkerPool, panel, parent_widget=None, session=None):
        super().__init__(parent_widget)
        self.session = session   # ProjectSession: train on all its images, keep the models
        self.pool = pool
        self.panel = panel
        self.parent_widget = parent_widget
        self.config_options: dict = {}
        self.share_cores = share_the_cores_with_the_window   # benchmarks/gui_stall.py compares others
        self.document = None
        self.visible_region: tuple[int, int, int, int] | None = None
        self.out_of_sight = False   # the window is minimised: no previews, training takes their time
        self._worker: GeneratorWorker | None = None
        self._document_in_training = None
        self._project_in_training = None
        self._go_on_from = None   # the image training went on from to another (go_on_elsewhere)
        self._go_on_channels = 0  # ... and its number of channels
        self._latest_model = None
        self._keep_failed = False   # the project could not keep this run's model
        self._run_note = ""
        self._message_until = 0.0
        # A run that went on by itself continues the user's training: its steps count on from
        # the runs before it, as the Models list sums them.
        self._steps_before = 0
        self._run_classes: list[str] = []   # the class names the run learns
        self._restart_for = None   # the document whose classes changed in a run: it starts again
        self._unwatch_classes = lambda: None
        panel.train_clicked.connect(self.start)
        panel.stop_clicked.connect(self.stop)

    @property
    def running(self) -> bool:
        return self._worker is not None

    def set_document(self, document) -> None:
        self.stop()
        self._unwatch_classes()
        self._unwatch_classes = (lambda: None) if document is None else \
            document.labels.on_classes_changed(self._classes_changed)
        self.document = document
        self.panel.clear()
        self.panel.show_message("" if document is None else
                                "Paint a few strokes of each class, then press Train.")
        self.panel.button.setEnabled(document is not None)
        if self._go_on_from is not None:
            # After the window has given the image its model (show_image).
            QTimer.singleShot(0, self._go_on_when_ready)

    def _classes_changed(self) -> None:
        """A class added, removed or renamed while training runs: the run ends (its model kept)
        and a new one goes on from it with the classes as they are now."""
        document = self.document
        if (not self.running or self._worker.stop_requested or self._document_in_training is not document
                or [c.name for c in document.labels.classes] == self._run_classes):   # (a colour only)
            return
        self.stop()
        self._restart_for = document
        self.panel.show_message("The classes changed: training starts again with them…")
        self._message_until = time.monotonic() + MESSAGE_HOLD_S

    def tell_model_not_read(self, model) -> None:
        """The project's model does not read the shown image (another number of channels)."""
        self.panel.show_message(f"The project's model reads images of {model.in_channels} channel(s), this "
                                f"one has {self.document.stack.n_c}: paint and Train to start a model for it.")

    def go_on_elsewhere(self) -> None:
        """The user shows another image of the project while training runs: the run ends (its
        model kept and given to that image, ProjectCommands.model_ready) and a new run goes on
        from it with that image shown, previewed, and its strokes learned."""
        if self.running and not self._worker.stop_requested:   # (not a run the user stopped)
            self._go_on_from = self._document_in_training
            self._go_on_channels = self._document_in_training.stack.n_c
            self.stop()

    @Slot()
    def forget_going_on(self) -> None:
        """The image training was to go on with could not be shown: nothing goes on."""
        self._go_on_from = None

    def _go_on_when_ready(self) -> None:
        """Start the run that goes on, once the last one has ended and the other image is shown
        (in whichever order those two happen)."""
        came_from = self._go_on_from
        if came_from is None or self.running or self.document is None or self.document is came_from:
            return
        self._go_on_from = None
        if self.document.stack.n_c == self._go_on_channels:   # (another kind of image: Train decides)
            self._start(went_on=True)

    def toggle(self) -> None:
        (self.stop if self.running else self.start)()

    @Slot()
    def start(self) -> None:
        self._start(went_on=False)

    def _start(self, went_on: bool) -> None:
        """went_on: the run goes on by itself after the user showed another image."""
        document = self.document
        if document is None or self.running:
            return
        plan = self._plan(document)
        plan.went_on = went_on and plan.started_from is not None
        share_cores = self.share_cores

        def make_generator():
            on_the_cpu = trains_on_the_cpu(plan.options.get("device", "auto"))
            if on_the_cpu:
                share_cores()
            try:
                yield from training_run(plan, self._preview_request, lambda: worker.stop_requested)
            finally:
                if on_the_cpu:   # torch's thread count is the process's: what other work starts with
                    leave_a_core_for_the_window()

        worker = GeneratorWorker(make_generator, transform=_prepare_item, name="training",
                                 break_on_stop=False)
        worker.yielded.connect(self._on_update)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._document_in_training = document
        self._project_in_training = plan.project
        self._run_classes = [c.name for c in document.labels.classes]
        self._latest_model = None
        self._keep_failed = False   # the project could not keep this run's model
        self._run_note = ""
        self._message_until = 0.0
        self._steps_before = steps_up_to(list(plan.project.models), plan.started_from.id) if plan.went_on else 0
        self.panel.clear()
        self.panel.set_running(True)
        self.panel.show_message("Starting… (the first start loads PyTorch)")
        self.running_changed.emit(True)
        self.pool.start(worker)

    def _plan(self, document) -> RunPlan:
        """The shown image first, then the project's other images that have labels."""
        plan = RunPlan(document.stack, document.labels, document.labels.classes,
                       dict(self.config_options), init=document.model)
        session = self.session
        project = session.project if session is not None else None
        if project is None or session.entry_id is None:
            return plan
        loaded = project.loaded_labels()
        plan.project = project
        plan.others = [e for e in project.images if e.id != session.entry_id and not e.missing
                       and (e.id in loaded or (project.folder / e.labels).is_file())]
        if document.model is not None and document.model is session.model and session.model_id:
            try:
                plan.started_from = project.models.get(session.model_id)
            except UnetStudioError:
                pass
        return plan

    @Slot()
    def stop(self) -> None:
        """Ask training to end after the current step; the model so far is kept."""
        self._restart_for = None   # (the user's Stop: nothing starts again by itself)
        if self._worker is not None:
            self._worker.stop()
            self.panel.show_message("Stopping after this step…")

    def _preview_request(self):
        """Called by the engine in the worker thread: the plane (and region) on screen."""
        document = self.document
        if document is None or self.out_of_sight:
            return None
        region = self.visible_region
        return (0, document.t, document.z) if region is None else (0, document.t, document.z, region)

    @Slot(object)
    def _on_update(self, item: tuple) -> None:
        kind, update = item
        if kind == "note":
            self._run_note = update
            self.panel.show_message(update)
            return
        if kind == "kept":
            self.model_kept.emit(update)
            return
        if kind == "keep_failed":
            self._keep_failed = True
            self.keep_failed.emit(update)
            return
        if update.model is not None:
            self._latest_model = update.model
        document = self._document_in_training
        if document is not self.document:
            return   # another image is shown: its panel does not show this run's last steps
        self.panel.show_progress(self._steps_before + update.step, update.loss, update.patches_per_s, update.device)
        if update.message:
            # Held a while: the next update comes within a fraction of a second.
            self._message_until = time.monotonic() + MESSAGE_HOLD_S
            self.panel.show_message(update.message)
        elif (self._worker is not None and not self._worker.stop_requested and update.step > 0
              and time.monotonic() >= self._message_until):
            self.panel.show_message(f"{self._run_note or 'Training.'} "
                                    "Keep painting where the prediction is wrong.")
        if update.preview is not None:
            t, z, region, probabilities, mask, uncertainty, boundary = update.preview
            document.put_prediction(t, z, probabilities, mask, uncertainty, region, boundary)

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        self._go_on_from = self._restart_for = None   # a run an error ended does not go on by itself
        kept = ""
        if self._latest_model is not None:   # (where the project could not keep it, its own dialog says so)
            kept = (" The model trained until then stays in use." if self._keep_failed
                    else " The model trained until then is kept.")
        reason = reason.rstrip(".") + "."
        self.panel.show_message(f"Training stopped: {reason}{kept}")
        show_error(self.parent_widget, "Training failed", reason + kept)

    @Slot()
    def _on_finished(self) -> None:
        self._worker = None
        self.panel.set_running(False)
        model, self._latest_model = self._latest_model, None
        if model is not None:
            if self._document_in_training is self.document:
                self.document.set_model(model)
            self.model_ready.emit(model, self._project_in_training)
        self._document_in_training = self._project_in_training = None
        restart, self._restart_for = self._restart_for, None
        if restart is not None and restart is self.document:
            self.running_changed.emit(False)
            self._start(went_on=True)
            self._run_note = "Learning the classes as they are now."
            self._message_until = time.monotonic() + MESSAGE_HOLD_S
            self.panel.show_message("The classes changed: training goes on with them, from the model so far.")
            return
        if self.document is not None and self.document.model is not None:
            if not self.panel.message.text().startswith("Training stopped"):
                self.panel.show_message("Training stopped; the model is kept. "
                                        "Press Train to continue, or export the masks.")
        elif self.document is not None and model is not None and not self.document.reads(model):
            self.tell_model_not_read(model)
        self.running_changed.emit(False)
        self._go_on_when_ready()
