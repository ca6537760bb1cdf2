"""Pixels nobody painted: the answer should not depend on which way up the patch is shown.

The strokes say what a few pixels are; the rest of each patch teaches nothing through the
labeled loss. A membrane or a nucleus is the same thing upside down, and the prediction
averages mirrored views (ml/tiling.py), so where one view's answer differs from another's the
network is unsure in a way the strokes cannot show it. Consistency under augmentation (Laine
& Aila 2017; FixMatch, Sohn et al. 2020, without the hard labels): each step the network also
answers the patch flipped both ways, without gradient, and that answer, flipped back, is a
soft target for the unlabeled pixels where it is sure (probability >= `sure`), as
ml/corrections.py keeps the shown model's answers.

It starts after `after_steps` (ml/recipe.py chooses them): before that the network is its
own, unsure, target, and early use costs quality. Measured in steps, not seconds, so a fast
GPU waits for the same training. One more forward pass per step, none before then.

The extra answer is in training mode, as the labeled loss sees the network: with BatchNorm,
its batch statistics (the same pixels, flipped) normalise it, and the running statistics used
for prediction are left as they were.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from unet_studio.ml.corrections import SURE
from unet_studio.ml.loss import keep_sure_answers
from unet_studio.ml.terms import Batch, Term

if TYPE_CHECKING:
    from unet_studio.ml.trainer import Trainer

FLIPPED = (-2, -1)   # (N, C, Y, X) dims: upside down and left-right


class FlipConsistency(Term):
    """The loss that asks the network for the same answer on the patch flipped both ways."""
    name = "flip_consistency"

    def __init__(self, weight: float, after_steps: int, sure: float = SURE):
        self.weight = float(weight)
        self.after_steps = int(after_steps)
        self.sure = float(sure)
        self.net: nn.Module | None = None
        self.batchnorms: list = []

    def start(self, run: Trainer) -> None:
        self.ask(run.net)

    def ask(self, net: nn.Module) -> None:
        """`net`: the network being trained, asked for the flipped answer."""
        self.net = net
        self.batchnorms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]

    def applies(self, step: int) -> bool:
        """Whether the loss is used at training step `step` (0-based)."""
        return self.weight > 0 and step >= self.after_steps

    def loss(self, batch: Batch) -> torch.Tensor | None:
        """weight x KL(flipped answer || now) over unlabeled pixels (target < 0) where the
        flipped answer is sure; None where there is none."""
        x = batch.images
        layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) \
            else torch.contiguous_format
        with torch.no_grad(), _running_statistics_kept(self.batchnorms):
            seen = self.net(x.flip(FLIPPED).contiguous(memory_format=layout))
            log_kept = F.log_softmax(seen.float(), 1).flip(FLIPPED)
        kept = keep_sure_answers(log_kept, batch.logits, batch.target, self.sure)
        return None if kept is None else self.weight * kept


@contextmanager
def _running_statistics_kept(batchnorms: list):
    """These BatchNorm layers normalise with the batch but do not update their running statistics."""
    momenta = [m.momentum for m in batchnorms]
    for m in batchnorms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(batchnorms, momenta):
            m.momentum = momentum
