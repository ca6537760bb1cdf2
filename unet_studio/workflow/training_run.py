"""One training run as the worker thread runs it: gather the project's labeled images, train,
and keep the resulting model in the project's history.

The image on screen comes first (previews are asked for image 0); the project's other images
with labels are opened here, in the worker, and closed when the run ends. The final model is
saved into the project (models/<time>.pt, atomically) with its steps, loss and what it was
trained on, and a record goes to the training log. A run an error stops after it trained is
kept the same way (the error noted in its info), then the error goes on to the window.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from unet_studio.core.errors import UnetStudioError


@dataclass
class RunPlan:
    """What a run trains on. `others`: project ImageEntry objects with labels (not the one
    shown); `started_from`: the history entry of the model the run continues, if any;
    `went_on`: the run goes on by itself from the one the user started, after the user showed
    another image (no Train pressed: to the user it is the same training)."""

    stack: Any
    labels: Any
    classes: list
    options: dict
    init: Any = None
    project: Any = None
    others: list = field(default_factory=list)
    started_from: Any = None
    went_on: bool = False


def _gather(plan: RunPlan, opened: list) -> tuple[list, list, list[str]]:
    """(stacks, label volumes, image names): the shown image, then every other image of the
    project with at least one labeled pixel and the same number of channels."""
    stacks, volumes = [plan.stack], [plan.labels]
    names = [plan.stack.name]
    for entry in plan.others:
        try:
            stack = entry.open()
        except UnetStudioError:
            continue  # moved or unreadable since the list was made: train on the rest
        opened.append(stack)
        if stack.n_c != plan.stack.n_c:
            continue
        try:
            volume = plan.project.labels_for(entry, stack)
        except UnetStudioError:
            continue  # damaged labels are reported when the user opens that image
        if volume.data.any():
            stacks.append(stack)
            volumes.append(volume)
            names.append(entry.name)
    return stacks, volumes, names


def _images_note(others: int, shown_labeled: bool) -> str:
    """What a run on the shown image and `others` other images with labels says."""
    if shown_labeled:
        return f"Training on the labels of {others + 1} images."
    other = "another image" if others == 1 else f"{others} other images"
    return f"Training on the labels of {other} (none on this one yet)."


def keep_model(project, progress, loss: float, info: dict):
    """Save the run's model into the project's history and log the run; its ModelEntry."""
    from unet_studio.ml.model_file import save_model

    model = progress.model
    entry = project.add_model(lambda path: save_model(path, model), steps=progress.step,
                              loss=loss, info=info)
    project.log_training({"event": "training", "model": entry.id, "steps": progress.step,
                          "loss": entry.loss, **info})
    return entry


def training_run(plan: RunPlan, preview_request: Callable, should_stop: Callable) -> Iterator[tuple]:
    """Worker generator: ("note", text), ("progress", TrainProgress)..., then ("kept",
    ModelEntry) or ("keep_failed", reason) when the project keeps the final model."""
    from unet_studio.ml.train import TrainConfig, train  # torch: worker thread only

    opened: list = []
    try:
        stacks, volumes, names = _gather(plan, opened) if plan.project is not None else \
            ([plan.stack], [plan.labels], [plan.stack.name])
        if len(stacks) > 1:
            yield ("note", _images_note(len(stacks) - 1, bool(plan.labels.data.any())))
        progress, last_loss = None, math.nan
        try:
            for progress in train(stacks, volumes, plan.classes, TrainConfig(**plan.options),
                                  init=plan.init, preview_request=preview_request, should_stop=should_stop):
                if math.isfinite(progress.loss):
                    last_loss = float(progress.loss)
                yield ("progress", progress)
        except Exception as e:
            # The steps trained before the error are the user's work: the run ends with what
            # they trained, which the project keeps, and then the error is told.
            if progress is not None and progress.step > 0:
                progress = dataclasses.replace(progress, preview=None, preview_for=None, message="", done=True)
                yield ("progress", progress)
            yield from _kept(plan, progress, last_loss, names, f"{type(e).__name__}: {e}")
            raise
        yield from _kept(plan, progress, last_loss, names)
    finally:
        for stack in opened:
            try:
                stack.close()
            except UnetStudioError:
                pass


def _kept(plan: RunPlan, progress, last_loss: float, names: list[str], error: str | None = None) -> Iterator[tuple]:
    """("kept", ModelEntry) or ("keep_failed", reason) for a run in a project that trained at
    least one step (its last report's model); nothing otherwise. error: what stopped the run
    early, noted in the model's info."""
    if plan.project is None or progress is None or progress.step == 0:
        return
    info = {"images": names, "seconds": round(float(progress.elapsed), 1),
            "device": str(progress.device), "labeled_pixels": int(sum(progress.labeled or [])),
            "settings": {k: v for k, v in plan.options.items() if isinstance(v, (int, float, str, bool))}}
    if plan.started_from is not None:
        info["started_from"] = plan.started_from.id
        info["started_from_time"] = plan.started_from.time
        if plan.went_on:
            info["went_on"] = True
    if error is not None:
        info["stopped_by_error"] = error[:300]
    try:
        # The run's loss: its last report's (ml/train.py), the number the training panel
        # showed last.
        yield ("kept", keep_model(plan.project, progress, last_loss, info))
    except UnetStudioError as e:
        yield ("keep_failed", str(e))
