"""When things happen in a training run: the learning rate over the run, how fast BatchNorm's
running statistics follow the batches, and when periodic work (previews, class shares) is due."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from unet_studio.ml.config import TrainConfig


def lr_factor(config: TrainConfig, step: int, elapsed: float) -> float:
    """Short linear warm-up, then constant for open-ended runs, or a cosine decay to 10 % over
    the budget when one is known (whichever budget is nearer to its end decides)."""
    warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
    progress = 0.0
    if config.time_budget:
        progress = max(progress, elapsed / config.time_budget)
    if config.steps:
        progress = max(progress, step / config.steps)
    progress = min(progress, 1.0)
    return warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def next_due(now: float, took: float, every: float, share: float) -> float:
    """When work that just took `took` s (a preview, measuring the class shares) is due again:
    at most every `every` s, and in at most `share` of the time (kept within (0, 1])."""
    return now + max(every, took / min(max(share, 1e-3), 1.0))


# A preview is calm when fewer of its pixels changed than this share a second since the one
# before (on a 512² plane, 80 px a second: what a weight-averaged model that has settled moves).
CALM_CHANGE_PER_S = 3e-4
CALM_SLOWDOWN = 4   # the most a calm preview's wait grows: preview_every x this


class PreviewPace:
    """When the next live preview is due: at most every `every` s and in at most `share` of the
    time (next_due). While the previews of the same plane barely change, the wait doubles, up to
    CALM_SLOWDOWN x `every`, and the time goes to training (a settled answer looks the same at
    3 s or at 12 s); new strokes, or another plane or region asked for, bring back the first
    pace, counted from the last preview."""

    def __init__(self, every: float, share: float, began: float):
        self.every, self.share = every, share
        self.slowdown = 1
        self.due = self._first_pace = began + every   # _first_pace: when it would be due unslowed (<= due)
        self._last: tuple | None = None   # (request, mask, when) of the last preview shown

    def asks_now(self, now: float) -> bool:
        """Whether to ask which plane is on screen: a preview is due, or one may be (the first
        pace has passed while slowed down: a preview of another plane is not held back)."""
        return now >= self._first_pace

    def wants(self, now: float, request: tuple | None) -> bool:
        """Whether to preview `request` (None: nothing on screen) now."""
        if request is None:
            return False
        return now >= self.due or self._last is None or tuple(request) != self._last[0]

    def previewed(self, now: float, took: float, request: tuple | None, mask: np.ndarray | None) -> None:
        """A preview asked at `now` took `took` s and showed `mask` for `request` (None: nothing)."""
        # A copy: the window keeps the preview's mask and writes later regions into it.
        last, self._last = self._last, (None if mask is None else (tuple(request), mask.copy(), now))
        calm = (last is not None and mask is not None and last[0] == tuple(request)
                and last[1].shape == mask.shape
                and np.count_nonzero(last[1] != mask) < CALM_CHANGE_PER_S * mask.size * (now - last[2]))
        self.slowdown = min(2 * self.slowdown, CALM_SLOWDOWN) if calm else 1
        self.due = next_due(now, took, self.every * self.slowdown, self.share)
        self._first_pace = next_due(now, took, self.every, self.share)

    def strokes_changed(self) -> None:
        """New strokes: the first pace again, counted from the last preview."""
        self.slowdown = 1
        self.due = self._first_pace


def set_batchnorm_momentum(batchnorms: list, step: int) -> None:
    """Running statistics as the plain average of the batches so far for the first 10 steps,
    then the usual moving average (0.1). With 0.1 from the start, a third of the statistics
    used for prediction would still be their initial values (0, 1) after 10 steps, which is
    all a slow CPU manages before the first live preview."""
    momentum = max(0.1, 1.0 / (step + 1))
    for bn in batchnorms:
        bn.momentum = momentum
