"""When things happen in a training run: the learning rate over the run, how fast BatchNorm's
running statistics follow the batches, and when periodic work (previews, class shares) is due."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

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


def set_batchnorm_momentum(batchnorms: list, step: int) -> None:
    """Running statistics as the plain average of the batches so far for the first 10 steps,
    then the usual moving average (0.1). With 0.1 from the start, a third of the statistics
    used for prediction would still be their initial values (0, 1) after 10 steps, which is
    all a slow CPU manages before the first live preview."""
    momentum = max(0.1, 1.0 / (step + 1))
    for bn in batchnorms:
        bn.momentum = momentum
