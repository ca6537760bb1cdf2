"""Strokes painted while training runs correct the mask where they are, not everywhere.

The app's loop is: train, look at the mask, paint where it is wrong, training goes on. Such
correction strokes are few and lie exactly where the model is wrong, on the hardest pixels of
the image, with nothing around them to say what is *not* like them. Trained on as they are,
they swing the whole mask: in the quality benchmark (two simulated correction rounds of
~2,500 pixels at 30 and 60 s), ISBI membrane F1 fell from 0.774 to 0.745 at 120 s, below
where it was before the first round, and DSB instance F1 from 0.830 to 0.791; the random
forest falls the same way (ISBI 0.709 -> 0.657). With this module: ISBI 0.770, DSB 0.818
(3 seeds; benchmarks/README.md, session 10).

Learning without forgetting (Li & Hoiem 2016), as ml/remember.py does for the starting model,
but for the user's own model: when the strokes change after training started, a frozen copy
of the model the user was shown is kept, and on every later patch its answer is a soft target
for the pixels nobody painted where it was sure (probability >= `sure`). The new strokes are
learned where they are; what the model was sure of elsewhere moves only as far as they
justify. A model that was unsure (early in training) is kept only where it was sure, so it
does not hold back what the first strokes still have to teach.

The same holds when the user stops, paints and trains again: the new run starts from the model
the user was shown, and when the strokes differ from those it was trained with (its summary's
labeled pixels per class), that model is the kept copy from the first step.

The copy is taken again at each change of the strokes (while the user paints, at most every
0.5 s: the trainer re-reads the labels that often), so it is always the model from just before
the latest strokes: its weights are copied into the one frozen module, not a new one each
time. Training costs one more forward pass per step once strokes have changed. It is off for
networks with BatchNorm (only non-default architectures trained from scratch), where a tiny
test network spread a correction instead of holding it; measured with GroupNorm (the
starting model).
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from unet_studio.ml.loss import keep_sure_answers

SURE = 0.9   # a pixel's answer is kept where the shown model gave its class at least this


def strokes_differ(summary: dict, labeled, digest: str) -> bool:
    """Whether the strokes now differ from those a model with this `summary` was trained with
    (True when it does not say): `digest` is `TrainingSet.strokes_digest()`; for a model whose
    summary has none (saved before it was kept), the labeled pixels per class (`labeled`)."""
    if summary.get("strokes_digest"):
        return summary["strokes_digest"] != digest
    return [int(v) for v in summary.get("labeled_pixels") or []] != [int(v) for v in labeled]


class Corrections:
    """The model shown before the latest strokes, and the loss that keeps its sure answers."""

    def __init__(self, weight: float, sure: float = SURE, net: nn.Module | None = None,
                 shown: nn.Module | None = None):
        """`net`: the network being trained; with BatchNorm in it, nothing is kept. `shown`: the
        user's model when training again after painting, kept from the first step."""
        has_batchnorm = net is not None and any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
        self.weight = 0.0 if has_batchnorm else float(weight)
        self.sure = float(sure)
        self.before: nn.Module | None = None
        if shown is not None:
            self.strokes_changed(shown)

    def strokes_changed(self, shown: nn.Module) -> None:
        """The labels changed after training started: keep a frozen copy of the shown model.

        It answers in training mode, as the network being trained does: the same batch
        normalisation (with running statistics against batch statistics the two would differ
        with the same weights, and the pull would distort rather than keep), and logits without
        the class-share shift, which only prediction adds."""
        if self.weight <= 0:
            return
        if self.before is not None:   # while the user paints: every 0.5 s, so no new module
            self.before.load_state_dict(shown.state_dict())
            return
        self.before = copy.deepcopy(shown).train().requires_grad_(False)

    def loss(self, x: torch.Tensor, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        """weight x KL(before || now) over unlabeled pixels (target < 0) where `before` was sure;
        None while no strokes have changed. `logits` (N, K, H, W) are the trained network's on the
        patches `x`, `target` (N, H, W) their labels."""
        if self.before is None:
            return None
        with torch.no_grad():
            log_kept = F.log_softmax(self.before(x).float(), 1)   # the same network: same shape
        kept = keep_sure_answers(log_kept, logits, target, self.sure)
        return None if kept is None else self.weight * kept
