"""Weight averaging (an exponential moving average of the weights, Polyak averaging).

With a few scribbles the training loss soon says little about the unlabeled pixels: the
last optimiser step's weights wander from one batch's patches to the next, and the
prediction of the whole image wanders with them. The average over the last ~100 steps is
a flatter, steadier solution: training longer no longer makes the mask worse by chance,
and the live preview stops flickering. The averaged network is the one the user sees
(previews, the saved model); the optimiser keeps training its own copy.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """An averaged copy of `net`: after each optimiser step call `update(net)`.

    decay: the weight of the old average at a step, reached gradually: early on the
    average follows the live weights closely ((1 + n) / (10 + n) after n updates), so a
    short run is not dominated by the random start.
    """

    def __init__(self, net: nn.Module, decay: float = 0.99):
        if not 0.0 <= decay < 1.0:
            raise ValueError("decay must be in [0, 1)")
        self.decay = float(decay)
        self.net = copy.deepcopy(net).requires_grad_(False)
        self.updates = 0

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

    def replace_module(self, name: str, module: nn.Module) -> None:
        """Keep the average's structure in step when a layer of the live net is replaced."""
        setattr(self.net, name, copy.deepcopy(module))


@torch.no_grad()
def pull_toward(params: list, starts: list, amount: float) -> None:
    """Move each weight a fraction `amount` of the way back to its starting value (one fused
    call over all tensors, as torch's own optimisers do)."""
    torch._foreach_lerp_(params, starts, amount)
