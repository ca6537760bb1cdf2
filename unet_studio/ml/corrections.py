"""Strokes painted while training runs correct the mask where they are, not everywhere.

The app's loop is: train, look at the mask, paint where it is wrong, training goes on. Such
correction strokes are few and lie exactly where the model is wrong, on the hardest pixels of
the image, with nothing around them to say what is *not* like them. Trained on as they are,
they swing the whole mask, below where it was before the correction (benchmarks/README.md
measures it with simulated correction rounds).

Learning without forgetting (Li & Hoiem 2016), as ml/remember.py does for the starting model,
but for the user's own model: when the strokes change after training started, a frozen copy
of the model the user was shown is kept, and on every later patch its answer is a soft target
for the pixels nobody painted where it was sure (probability >= `sure`). The new strokes are
learned where they are; what the model was sure of elsewhere moves only as far as they
justify. A model that was unsure (early in training) is kept only where it was sure, so it
does not hold back what the first strokes still have to teach.

The same holds when the user stops, paints and trains again: the new run starts from the model
the user was shown, and when the strokes differ from those it was trained with (its summary's
strokes digest), that model is the kept copy from the first step.

The copy is taken again at each change of the strokes (while the user paints, at most every
0.5 s: the trainer re-reads the labels that often), so it is always the model from just before
the latest strokes: its weights are copied into the one frozen module, not a new one each
time. The kept answers let go of the pixels that look like those the strokes corrected
(ml/corrected_look.py), so a correction spreads to the same mistake elsewhere.

The kept copy's answer costs a forward pass, a third of a training step. It is asked every
other step (`every`), at twice the weight: after two correction rounds the scores are those of
every step (3 seeds on ISBI, DSB and the halo, benchmarks/README.md), and the app trains
while the user paints at about 90 % of the command line's steps instead of 82 %. Whether the
term is used at all is the recipe's choice (ml/recipe.py).
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from unet_studio.ml.corrected_look import CorrectedLook
from unet_studio.ml.loss import keep_sure_answers
from unet_studio.ml.terms import Batch, Term

if TYPE_CHECKING:
    from unet_studio.ml.trainer import Trainer

SURE = 0.9   # a pixel's answer is kept where the shown model gave its class at least this


def strokes_differ(summary: dict, labeled, digest: str) -> bool:
    """Whether the strokes now differ from those a model with this `summary` was trained with
    (True when it does not say): `digest` is `TrainingSet.strokes_digest()`; for a model whose
    summary has none (saved before it was kept), the labeled pixels per class (`labeled`)."""
    if summary.get("strokes_digest"):
        return summary["strokes_digest"] != digest
    return [int(v) for v in summary.get("labeled_pixels") or []] != [int(v) for v in labeled]


class Corrections(Term):
    """The model shown before the latest strokes, and the loss that keeps its sure answers."""
    name = "corrections"

    def __init__(self, weight: float, sure: float = SURE, from_the_start: bool = False, every: int = 1):
        """`from_the_start`: training on from the user's model after painting: that model (the
        network as the run starts) is kept from the first step; `every`: the kept answers are
        asked at every this many steps, weighted as many times."""
        self.weight = float(weight)
        self.every = max(1, int(every))
        self.sure = float(sure)
        self.from_the_start = from_the_start
        self.before: nn.Module | None = None
        self.look = CorrectedLook()

    def applies(self, step: int) -> bool:
        return self.weight > 0 and step % self.every == 0

    def start(self, run: Trainer) -> None:
        if self.from_the_start:
            self.strokes_changed(run.net)

    def labels_changed(self, run: Trainer) -> None:
        if run.step > 0:
            self.strokes_changed(run.model.net)

    def strokes_changed(self, shown: nn.Module) -> None:
        """The labels changed after training started: keep a frozen copy of the shown model.

        It answers in training mode, as the network being trained does: the same batch
        normalisation (with running statistics against batch statistics the two would differ
        with the same weights, and the pull would distort rather than keep), and logits without
        the class-share shift, which only prediction adds."""
        if self.before is not None:   # while the user paints: every 0.5 s, so no new module
            self.before.load_state_dict(shown.state_dict())
            return
        self.before = copy.deepcopy(shown).train().requires_grad_(False)

    def loss(self, batch: Batch) -> torch.Tensor | None:
        """weight x KL(before || now) over unlabeled pixels (target < 0) where `before` was sure;
        None while no strokes have changed."""
        if self.before is None:
            return None
        with torch.no_grad():
            features = self.before.features(batch.images)
            log_kept = F.log_softmax(self.before.outc(features).float(), 1)   # the same network: same shape
            released = self.look.released(features, log_kept.argmax(1), batch.target)
        kept = keep_sure_answers(log_kept, batch.logits, batch.target, self.sure, released)
        return None if kept is None else self.weight * self.every * kept
