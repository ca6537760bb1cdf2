"""The interface every part of the training recipe has, and the simplest parts.

A term is one thing the recipe asks of training: a loss on the batch (the labeled
cross-entropy, smoothness, remembering, flip consistency, keeping the answers shown before
corrections) or something done around the optimiser step (the anchor pull, the weight
average, the class shares). The trainer (ml/trainer.py) calls every term of the recipe on the
same events, in the recipe's order; `recipe.build_recipe` is the one place that chooses the
terms and their weights, so a term never decides about itself whether it is used.

Events, each a no-op by default:
- `loss(batch)`: this term's weighted loss on the batch, or None (nothing to add), at the
  steps where `applies(step)`;
- `parameters()`: weights of the term's own that the optimiser trains with the network;
- `start(run)`: once, before the first step; `after_step(run, stepped)`: after each step
  (`stepped`: the optimiser moved, i.e. the batch had labeled pixels);
- `labels_changed(run)`: the strokes changed while training; `between_steps(run, now)`: after
  each step, before a live preview; `finish(run)`: after the last step; `summarise(summary)`:
  what it measured, into the model's summary (also when the run is closed early).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from unet_studio.ml.loss import IGNORE, edge_aware_smoothness, labeled_cross_entropy

if TYPE_CHECKING:
    from unet_studio.ml.trainer import Trainer


@dataclass
class Batch:
    """One training batch as the terms see it: images (N, C, H, W) as the network got them
    (augmented), target (N, H', W') class indices (-1 unlabeled), pixel_weight (N, H', W') or
    None, and the network's features and logits (N, K, H', W') on them."""
    images: torch.Tensor
    target: torch.Tensor
    pixel_weight: torch.Tensor | None = None
    features: torch.Tensor | None = None
    logits: torch.Tensor | None = None


class Term:
    """One part of the recipe (see the module docstring for the events)."""
    name = "term"
    weight = 0.0

    def applies(self, step: int) -> bool:
        """Whether `loss` is asked for at training step `step` (0-based, this run's)."""
        return self.weight > 0

    def loss(self, batch: Batch) -> torch.Tensor | None:
        return None

    def parameters(self) -> list:
        return []

    def start(self, run: Trainer) -> None:
        pass

    def after_step(self, run: Trainer, stepped: bool) -> None:
        pass

    def labels_changed(self, run: Trainer) -> None:
        pass

    def between_steps(self, run: Trainer, now: float) -> None:
        pass

    def finish(self, run: Trainer) -> None:
        pass

    def summarise(self, summary: dict) -> None:
        """Add what the term measured to the model's summary (also when training is closed)."""


class LabeledStrokes(Term):
    """Cross-entropy on the painted pixels (ml/loss.py), optionally classes balanced and each
    pixel weighted (TrainingSet.sample: the trust in it, times 1 + the border weight, times
    the new strokes' weight while they are new; scaled to a mean of 1 per batch). Always used:
    it is what the user's strokes teach, and the loss the user sees."""
    name = "strokes"
    weight = 1.0

    def __init__(self, balance_classes: bool):
        self.balance_classes = balance_classes

    def applies(self, step: int) -> bool:
        return True

    def loss(self, batch: Batch) -> torch.Tensor:
        return labeled_cross_entropy(batch.logits, batch.target, _mean_one(batch.pixel_weight, batch.target),
                                     balance=self.balance_classes)


def _mean_one(weight: torch.Tensor | None, target: torch.Tensor) -> torch.Tensor | None:
    """Pixel weights scaled to a mean of 1 over the batch's painted pixels: they say which
    painted pixels count more than others, not how much the strokes count against the other
    terms (a correction painted with a wide brush, its edges trusted less, still pushes as
    hard as a thin one)."""
    if weight is None:
        return None
    # Without boolean indexing or a host check: no device sync in the training step.
    painted = (target != IGNORE).to(weight.dtype)
    count = painted.sum()
    mean = (weight * painted).sum() / count.clamp(min=1)
    return weight / torch.where(count > 0, mean, torch.ones_like(mean)).clamp(min=1e-6)


class Smoothness(Term):
    """Edge-aware smoothness on every pixel (ml/loss.py): region borders settle on image edges."""
    name = "smoothness"

    def __init__(self, weight: float, sigma: float):
        self.weight, self.sigma = float(weight), float(sigma)

    def loss(self, batch: Batch) -> torch.Tensor:
        return self.weight * edge_aware_smoothness(batch.logits, batch.images, self.sigma)


class AnchorPull(Term):
    """Decoupled L2-SP (Li et al. 2018): after each step every layer but the output layer (the
    user's classes) moves back toward its starting weights by `weight` x the learning rate."""
    name = "anchor"

    def __init__(self, weight: float):
        self.weight = float(weight)
        self.params: list[torch.Tensor] = []
        self.starts: list[torch.Tensor] = []

    def applies(self, step: int) -> bool:
        return False   # no loss: it acts after the step

    def start(self, run: Trainer) -> None:
        self.params = [p for name, p in run.net.named_parameters() if not name.startswith("outc.")]
        self.starts = [p.detach().clone() for p in self.params]

    def after_step(self, run: Trainer, stepped: bool) -> None:
        pull_toward(self.params, self.starts, self.weight * run.lr)


@torch.no_grad()
def pull_toward(params: list, starts: list, amount: float) -> None:
    """Move each weight a fraction `amount` of the way back to its starting value (one fused
    call over all tensors, as torch's own optimisers do)."""
    torch._foreach_lerp_(params, starts, amount)
