"""Training as a generator: each `next()` runs training steps and reports progress.

The caller (a QThread worker in the app, a loop in the CLI) decides when to stop: closing the
generator stops between two steps, `should_stop()` returning True ends with a final report,
and a time or step budget ends it by itself. The model in each report is the one the user
sees, so stopping at any point keeps everything learned so far.

Here: the input checked, the network to train (new, the starting model, or the user's model),
and the run around the steps (budgets, labels read live, previews, reports). What a step
trains with is the recipe (ml/recipe.py); the step itself is ml/trainer.py.
"""
from __future__ import annotations

import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch

from unet_studio.core.errors import TrainingInputError
from unet_studio.ml.config import TrainConfig
from unet_studio.ml.corrections import strokes_differ
from unet_studio.ml.data import TrainingSet
from unet_studio.ml.device import device_name, is_out_of_memory, pick_device
from unet_studio.ml.live_preview import live_preview
from unet_studio.ml.model_file import Model, class_dicts
from unet_studio.ml.predict import Prediction
from unet_studio.ml.recipe import build_recipe
from unet_studio.ml.remember import Remembering
from unet_studio.ml.run_start import RunStart, starting_point, steps_trained
from unet_studio.ml.schedule import PreviewPace
from unet_studio.ml.trainer import Trainer

__all__ = ["TrainConfig", "TrainProgress", "train"]


@dataclass
class TrainProgress:
    """One report from train(). `loss`: the cross-entropy on the painted pixels, the mean over
    the steps since the previous report, and in the last report (`done`) over the run's last
    RUN_LOSS_STEPS steps: the run's loss, which one step alone would give by chance (the terms
    that keep or smooth the answers elsewhere are trained on but not in it, so it measures the
    fit to the strokes alone)."""
    step: int
    loss: float
    elapsed: float
    patches_per_s: float
    device: str
    batch: int
    model: Model
    preview: Prediction | None = None
    preview_for: tuple | None = None
    message: str = ""
    done: bool = False
    lr: float = 0.0
    labeled: list[int] = field(default_factory=list)   # labeled pixels per class, now


def train(images: list[Any], labels: list[Any], classes: list[Any], config: TrainConfig | None = None,
          init: Model | None = None, preview_request: Callable[[], tuple | None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> Iterator[TrainProgress]:
    """Train (or fine-tune `init`) a U-Net on images with sparse labels; see module docstring.

    images: core Stacks (or arrays (C, Y, X) / (Y, X)); labels: a LabelVolume (or array) per
    image, 0 = unlabeled, k = classes[k-1]. preview_request() -> (image_index, t, z) or
    (image_index, t, z, (y0, y1, x0, x1)) or None, asked every `preview_every` seconds.
    Raises TrainingInputError at once (before the first step) for unusable input.
    """
    config = config or TrainConfig()
    if config.patch % 16 or config.patch < 16:
        raise TrainingInputError(f"patch size must be a multiple of 16, not {config.patch}")
    if config.batch < 1:
        raise TrainingInputError("batch size must be at least 1")
    classes = class_dicts(classes)
    if len(classes) < 2:
        raise TrainingInputError("at least two classes are needed (e.g. background and objects)")
    data = TrainingSet(images, labels, len(classes), seed=config.seed)
    if init is not None and init.in_channels != data.in_channels:
        raise TrainingInputError(f"the starting model takes {init.in_channels} channel(s), "
                                 f"the images have {data.in_channels}")
    device = pick_device(config.device)
    # Trained again from the user's model, with its output layer: after painting, what it showed
    # is kept (corrections.py); the steps it trained count (consistency.py).
    goes_on = init is not None and init.n_classes == len(classes)
    painted_since = goes_on and strokes_differ(init.summary, data.labeled_counts(), data.strokes_digest())
    trained_before = steps_trained(init.summary) if goes_on else 0
    agreement_before = init.summary.get("starting_model_agreement") if init is not None else None
    seed = config.seed if config.seed is not None else int(np.random.SeedSequence().entropy % (2 ** 31))
    start = starting_point(config, data, classes, init, device, seed)
    starting = None
    if start.untouched is not None:
        # Fine-tuning the starting model (also when the user trains again from a model
        # fine-tuned that way): how far it explains the strokes chooses the recipe.
        starting = Remembering(start.untouched.net, device, agreement_before)
        start.untouched = None   # the untouched model stays in memory only if the recipe remembers it
    return _run(data, start, config, seed, (preview_request, should_stop),
                (starting, painted_since, trained_before))


def _run(data: TrainingSet, start: RunStart, config: TrainConfig, seed: int, asks: tuple,
         history: tuple) -> Iterator[TrainProgress]:
    """The run around the steps. asks: (preview_request, should_stop); history: (the untouched
    starting model when fine-tuning it, painted_since, trained_before)."""
    preview_request, should_stop = asks
    model, device, batch = start.model, start.device, config.batch
    began = time.perf_counter()   # the budget counts measuring trust too
    trainer, message, agreement = _prepared_trainer(data, start, config, seed, history, began)
    reports = _Reports(trainer, device_name(device), message)
    rng = np.random.default_rng(seed)
    pace = PreviewPace(config.preview_every, config.preview_share, began)
    recipe = trainer.recipe
    if preview_request is not None and (recipe.answers_at_once or recipe.first_answer is not None):
        # An answer before the first step (ml/recipe.py): the network's, or the strokes read.
        with _answering(model.net, recipe.first_answer):
            preview = _previewed(model, data, preview_request(), device, pace)
        if preview is not None:
            yield reports.report(False, *preview)
    told_new_class = False
    fresh_until = 0   # new strokes are sampled more often until this step

    def finished() -> bool:
        elapsed = time.perf_counter() - began
        return bool((config.steps is not None and trainer.step >= config.steps)
                    or (config.time_budget is not None and elapsed >= config.time_budget)
                    or (should_stop is not None and should_stop()))

    try:
        while not finished():
            if trainer.step >= fresh_until:
                data.forget_fresh()
            if data.refresh():
                reports.say(reports.message or "labels changed: using the new strokes")
                trainer.labels_changed()
                pace.strokes_changed()
                fresh_until = trainer.step + config.new_strokes_steps
                if data.new_classes_seen and not told_new_class:
                    told_new_class = True
                    reports.say("a new class was painted: stop and train again to learn it")
            share = config.new_strokes_share if trainer.step < fresh_until else 0.0
            images, labels, weights = data.sample(rng, batch, trainer.in_size, config.border_weight, share,
                                                     config.trust_stroke_centres, config.new_strokes_weight,
                                                     config.trust_stroke_looks)
            try:
                loss = trainer.train_on(images, labels, weights, time.perf_counter() - began)
            except RuntimeError as e:
                batch = reports.batch = _halve_batch(e, batch, trainer, device)
                reports.say(f"out of GPU memory: batch size reduced to {batch}")
                continue
            reports.stepped(loss, batch)
            now = time.perf_counter()
            trainer.between_steps(now)
            request = preview_request() if preview_request is not None and pace.asks_now(now) else None
            if pace.wants(now, request):
                preview = _previewed(model, data, request, device, pace)
                if preview is not None:
                    yield reports.report(False, *preview)
                    continue
            if now - reports.last >= config.report_every or trainer.step == 1:
                yield reports.report(False)
        trainer.finish()
    finally:
        _summarise(data, config, trainer, (reports, seed, time.perf_counter() - began), agreement)
    yield reports.report(True)


@contextmanager
def _answering(net: torch.nn.Module, layer: torch.nn.Module | None) -> Iterator[None]:
    """`net` with `layer` as its output layer for a while (None: its own)."""
    own = net.outc
    if layer is not None:
        net.outc = layer
    try:
        yield
    finally:
        net.outc = own


def _previewed(model, data: TrainingSet, request: tuple | None, device: torch.device,
               pace: PreviewPace) -> tuple | None:
    """(the live preview of the plane the user asks for, the request) or None; `pace` told."""
    now = time.perf_counter()
    preview = live_preview(model, data, request, device) if request is not None else None
    pace.previewed(now, time.perf_counter() - now, request, None if preview is None else np.asarray(preview.mask))
    return None if preview is None else (preview, tuple(request))


def _prepared_trainer(data: TrainingSet, start: RunStart, config: TrainConfig, seed: int,
                      history: tuple, began: float) -> tuple[Trainer, str, float | None]:
    """The trainer with this run's recipe, the first message, and the starting model's
    agreement with the strokes (None when not fine-tuning it)."""
    starting, painted_since, trained_before = history
    net, message, agreement = start.model.net, start.message, None
    if starting is not None:
        margin = net.margin()
        in_size = net.input_size_for(config.patch + 2 * margin)
        agreement = starting.measure_trust_on(data, seed, config.batch, in_size, margin, start.device,
                                              config.trust_stroke_centres, config.trust_stroke_looks)
    recipe = build_recipe(config, start.model, starting, painted_since, trained_before)
    if recipe.said:
        message = f"{message}; {recipe.said}"
    return Trainer(start.model, data, recipe, config, start.device, seed, began), message, agreement


def _halve_batch(error: RuntimeError, batch: int, trainer: Trainer, device: torch.device) -> int:
    """Out of GPU memory with more than one patch a batch: half as many; else raise `error`."""
    if not (is_out_of_memory(error) and batch > 1):
        raise error
    trainer.opt.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return batch // 2


RUN_LOSS_STEPS = 20   # the run's loss (its last report's) is the mean over this many last steps


class _Reports:
    """The progress reports of a run: the loss and the patches since the previous one."""

    def __init__(self, trainer: Trainer, device: str, message: str):
        self.trainer, self.device, self.message = trainer, device, message
        self.patches, self.batch = 0, trainer.config.batch
        self.last = self.window_start = trainer.started
        self.window_patches, self.loss_n, self.last_loss = 0, 0, float("nan")
        self.loss_sum = torch.zeros((), device=trainer.device)
        self.recent: deque[torch.Tensor] = deque(maxlen=RUN_LOSS_STEPS)   # the last steps' losses

    def say(self, message: str) -> None:
        self.message = message

    def stepped(self, loss: torch.Tensor | None, batch: int) -> None:
        """A step on `batch` patches; `loss` on the painted pixels (None: nothing was painted)."""
        if loss is not None:
            self.loss_sum += loss
            self.loss_n += 1
            self.recent.append(loss.detach())
        self.batch = batch
        self.patches += batch
        self.window_patches += batch

    def report(self, done: bool, preview=None, preview_for=None) -> TrainProgress:
        now = time.perf_counter()
        t = self.trainer
        loss = self.last_loss = float(self.loss_sum) / self.loss_n if self.loss_n else self.last_loss
        if done and self.recent:
            loss = float(torch.stack(tuple(self.recent)).mean())
        rate = self.window_patches / max(now - self.window_start, 1e-9)
        progress = TrainProgress(t.step, loss, now - t.started, rate, self.device, self.batch, t.model,
                                 preview, preview_for, self.message, done, t.lr,
                                 [int(v) for v in t.data.labeled_counts()])
        self.loss_sum = torch.zeros((), device=t.device)
        self.loss_n, self.window_start, self.window_patches, self.message, self.last = 0, now, 0, "", now
        return progress


def _summarise(data: TrainingSet, config: TrainConfig, trainer: Trainer, run: tuple,
               agreement: float | None) -> None:
    """Write what the run did into the model's summary and leave its networks in eval mode.
    run: (the reports, the seed, seconds)."""
    reports, seed, seconds = run
    summary = trainer.model.summary
    previous_steps = steps_trained(summary) if summary.get("steps") is not None else None
    summary.update({
        "steps": trainer.step,
        "seconds": round(seconds, 1),
        "patches": reports.patches,
        "batch": reports.batch,
        "patch": config.patch,
        "device": reports.device,
        "seed": seed,
        "images": [str(getattr(img, "name", "array")) for img in data.images],
        "labeled_pixels": [int(v) for v in data.labeled_counts()],
        "strokes_digest": data.strokes_digest(),
        "border_weight": config.border_weight,
        "trust_stroke_centres": config.trust_stroke_centres,
        "trust_stroke_looks": config.trust_stroke_looks,
    })
    if previous_steps is not None:
        summary["fine_tuned_after_steps"] = previous_steps
    if agreement is not None:
        summary["starting_model_agreement"] = round(agreement, 3)
    trainer.summarise(summary)
    trainer.net.eval()
    trainer.model.net.eval()
