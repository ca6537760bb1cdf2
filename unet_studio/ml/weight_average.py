"""Weight averaging (an exponential moving average of the weights, Polyak averaging).

With a few scribbles the training loss soon says little about the unlabeled pixels: the
last optimiser step's weights wander from one batch's patches to the next, and the
prediction of the whole image wanders with them. The average over the last ~100 steps is
a flatter, steadier solution: training longer does not make the mask worse by chance,
and the live preview stops flickering. The averaged network is the one the user sees
(previews, the saved model); the optimiser keeps training its own copy.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import nn

from unet_studio.ml.terms import Term

if TYPE_CHECKING:
    from unet_studio.ml.trainer import Trainer


class WeightAverage(Term):
    """An averaged copy of the trained network, updated after each optimiser step.

    decay (the term's weight): the weight of the old average at a step, reached gradually:
    early on the average follows the live weights closely ((1 + n) / (10 + n) after n
    updates), so a short run is not dominated by the random start.
    """
    name = "weight_average"

    def __init__(self, decay: float = 0.99, follow_new_strokes: bool = True):
        if not 0.0 <= decay < 1.0:
            raise ValueError("decay must be in [0, 1)")
        self.decay = self.weight = float(decay)
        self.follow_new_strokes = follow_new_strokes
        self.net: nn.Module | None = None
        self.updates = 0

    def applies(self, step: int) -> bool:
        return False   # no loss: it acts after the step

    def start(self, run: Trainer) -> None:
        """Average `run.net` from now on; the average is the network the user sees."""
        self.follow(run.net)
        run.model.net = self.net

    def follow(self, net: nn.Module) -> None:
        self.net = copy.deepcopy(net).requires_grad_(False)

    def labels_changed(self, run: Trainer) -> None:
        """New strokes: the average starts its warm-up again, so it follows the weights that
        learn them instead of showing the old answer for the next ~100 steps."""
        if self.follow_new_strokes:
            self.updates = 0

    def after_step(self, run: Trainer, stepped: bool) -> None:
        if stepped:
            self.update(run.net)

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        d = self.current_decay()
        averaged = [p for p in self.net.parameters()]
        live = [p.detach() for p in net.parameters()]
        torch._foreach_lerp_(averaged, live, 1.0 - d)
        # Normalisation statistics (BatchNorm) are not weights: take the live ones.
        for b_avg, b_live in zip(self.net.buffers(), net.buffers()):
            b_avg.copy_(b_live)
        self.updates += 1
