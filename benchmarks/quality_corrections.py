"""A correction round, the way the app is used: train on the first strokes, look at the mask
over the painted images, paint a few strokes where it is wrong, and training goes on with them.

The strokes of a round are simulated like the first ones (../shared/tools/simulate_scribbles.py:
strokes a few pixels wide along the middle of each region), but only inside the pixels that the
current mask gets wrong on the painted planes and that carry no label yet: at most `fraction`
of a plane's pixels per class. The random forest gets the same kind of round (fit, predict
the painted planes, add strokes where it is wrong, fit again), so the two stay comparable.

Whether a round is seen to work: `SHOWN_AFTER` seconds of training after each round
(`SHOWN_AFTER_STEPS` steps, when rounds are counted in steps), the share of that round's
stroke pixels the model shown to the user (the live preview: one view) gives the class they
were painted (the issue's "a pixel painted as k is shown as k").
"""
from __future__ import annotations

import functools
import importlib.util
import time

import numpy as np
from scipy import ndimage

from quality_tasks import DEFAULT_DATA, Task, forest_masks, hand_painted

SIMULATOR = DEFAULT_DATA.parent / "tools" / "simulate_scribbles.py"
MIN_WIDTH = 5  # px: wrong regions thinner than this get no correction strokes
SHOWN_AFTER = 10.0   # s of training after a round at which its strokes' pixels are checked
SHOWN_AFTER_STEPS = 70   # about 10 s of the app's training on a 2-core CPU


@functools.cache
def _scribble_slice():
    """The simulator's scribble_slice, loaded once from ../shared/tools."""
    spec = importlib.util.spec_from_file_location("simulate_scribbles", SIMULATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scribble_slice


class LiveLabels:
    """Labels the benchmark paints on while training runs (the trainer re-reads them when
    `version` changes, as it does for the app's LabelVolume)."""

    def __init__(self, data: np.ndarray):
        self.data = np.array(data, np.uint8)
        self.version = 0


def painted_planes(task: Task) -> list[tuple[int, int | None]]:
    """(image index, z or None) of every plane the user painted."""
    planes = []
    for i, labels in enumerate(task.train_labels):
        if labels.ndim == 3:
            planes += [(i, z) for z in range(len(labels)) if labels[z].any()]
        else:
            planes.append((i, None))
    return planes


def plane(array: np.ndarray, z: int | None) -> np.ndarray:
    return array if z is None else array[z]


def add_corrections(task: Task, labels: list[np.ndarray], masks: list[np.ndarray],
                    fraction: float, rng: np.random.Generator, min_width: int = MIN_WIDTH,
                    painted_now: list | None = None, widen: float | None = None) -> int:
    """Paint strokes of the true class where `masks` (one per painted plane) are wrong, in
    wrong regions at least `min_width` px wide (0: every wrong pixel), where nothing is
    labeled yet; returns the number of pixels painted. `painted_now`: a list that gets, per
    painted plane, the plane's new strokes (0 where none). `widen`: the strokes painted as
    hands do (quality_tasks.hand_painted), spilling over the wrong region's edges."""
    scribble_slice = _scribble_slice()
    painted = 0
    for (i, z), mask in zip(painted_planes(task), masks):
        truth, lab = plane(task.train_truth[i], z), plane(labels[i], z)
        wrong = (mask != truth) & (lab == 0) & (truth > 0)
        if min_width:
            # A user corrects what is clearly wrong (a false object, a missed one), not the
            # 1-2 px bands along object borders where the truth itself is uncertain.
            wrong = ndimage.binary_opening(wrong, np.ones((min_width, min_width), bool))
        strokes = scribble_slice(np.where(wrong, truth, 0), fraction, 3, 60, rng)
        if widen:
            strokes = hand_painted(strokes, widen, rng)
        new = (strokes > 0) & (lab == 0)
        lab[new] = strokes[new]
        painted += int(new.sum())
        if painted_now is not None:
            painted_now.append(np.where(new, strokes, 0))
    return painted


def forest_with_corrections(task: Task, seed: int, rounds: int, fraction: float,
                            widen: float | None = None) -> tuple[list, list[int]]:
    """The forest's masks of the evaluated images after `rounds` correction rounds, and the
    pixels painted in each round."""
    import dataclasses
    rng = np.random.default_rng(seed)
    labels = [np.array(lab) for lab in task.train_labels]
    painted = []
    for _ in range(rounds):
        current = dataclasses.replace(task, train_labels=labels)
        masks = forest_masks(current, seed=seed,
                             predict=[plane(task.train_images[i], z) for i, z in painted_planes(task)])
        painted.append(add_corrections(task, labels, masks, fraction, rng, widen=widen))
    return forest_masks(dataclasses.replace(task, train_labels=labels), seed=seed), painted


def shown_share(task: Task, model, norms: list, strokes: list[np.ndarray]) -> float:
    """The share of the stroke pixels (one array per painted plane) that `model`'s live preview
    (one view) gives the class they were painted."""
    from unet_studio.ml.predict import predict_plane
    right = total = 0
    for (i, z), painted in zip(painted_planes(task), strokes):
        if not painted.any():
            continue
        mask = predict_plane(model, plane(task.train_images[i], z), normalisation=norms[i], views=1).mask
        right += int((mask[painted > 0] == painted[painted > 0]).sum())
        total += int((painted > 0).sum())
    return right / max(total, 1)


def unet_with_corrections(task: Task, seed: int, times: list[float], correct_at: list[float],
                          fraction: float, config, images: list, stop_to_correct: bool = False,
                          widen: float | None = None, by_steps: bool = False) -> tuple[list, list[int], list[float]]:
    """Train, open-ended, from the starting model; at each of `correct_at` seconds of training,
    predict the painted planes with the model the user sees and add correction strokes.
    Training goes on meanwhile (the app's live loop), or with `stop_to_correct` the user stops,
    paints and clicks Train again: a new run from the model shown (the app's init). Returns
    [(seconds, steps, rounds so far, model copy)] at each of `times`, and the pixels painted
    per round, and the share of each round's pixels shown as painted `SHOWN_AFTER` seconds
    later. Seconds and steps count training only (not the pauses to correct or check).
    by_steps: `times` and `correct_at` are optimiser steps (fair comparisons on a busy
    machine, but blind to what a term's cost does to the steps a user gets)."""
    from unet_studio.ml.normalise import measure_normalisation
    from unet_studio.ml.predict import predict_plane
    from unet_studio.ml.train import train

    rng = np.random.default_rng(seed)
    live = [LiveLabels(lab) for lab in task.train_labels]
    norms = [measure_normalisation(im) if im.n_z > 1 else None for im in images]
    snapshots_todo, corrections_todo = sorted(times), sorted(correct_at)
    snapshots, painted, paused = [], [], 0.0
    shown, checks = [], []   # checks: (seconds of training, that round's strokes) still to check
    before_seconds, before_steps = 0.0, 0   # of the runs stopped to correct
    if by_steps:
        config.report_every = 0.0  # a report after every step, so a round lands on its step
    run = train(images, live, task.classes, config, should_stop=lambda: False)
    try:
        while True:
            progress = next(run)
            trained = before_seconds + progress.elapsed - paused
            steps = before_steps + progress.step
            clock = steps if by_steps else trained
            while snapshots_todo and clock >= snapshots_todo[0]:
                snapshots.append((round(trained, 1), steps, len(painted), progress.model.copy()))
                snapshots_todo.pop(0)
            if checks and clock >= checks[0][0]:
                start = time.perf_counter()
                shown.append(round(shown_share(task, progress.model, norms, checks.pop(0)[1]), 4))
                paused += time.perf_counter() - start
            if not snapshots_todo:
                break
            if corrections_todo and clock >= corrections_todo[0]:
                start = time.perf_counter()
                # What the user corrects is the live preview during training: one view.
                masks = [predict_plane(progress.model, plane(task.train_images[i], z),
                                       normalisation=norms[i], views=1).mask for i, z in painted_planes(task)]
                strokes = []
                painted.append(add_corrections(task, [lab.data for lab in live], masks, fraction, rng,
                                               painted_now=strokes, widen=widen))
                checks.append((clock + (SHOWN_AFTER_STEPS if by_steps else SHOWN_AFTER), strokes))
                for lab in live:
                    lab.version += 1
                corrections_todo.pop(0)
                if stop_to_correct:
                    run.close()
                    before_seconds, before_steps, paused = trained, steps, 0.0
                    # progress.model is the live one: its weights as they are now
                    run = train(images, live, task.classes, config, init=progress.model.copy(),
                                should_stop=lambda: False)
                else:
                    paused += time.perf_counter() - start
    finally:
        run.close()
    return snapshots, painted, shown
