"""The training recipe: which terms a run trains with, their weights, and the learning rate.

`build_recipe` is the one place where this is decided, from the settings (ml/config.py) and
what the run starts from:
- from scratch, or on from a model trained from scratch: the labeled cross-entropy at the
  plain learning rate, flip consistency, keeping the answers shown before corrections, and
  the class shares (the output layer learns from class-balanced strokes alone);
- fine-tuning the starting model, both ways: the user sees the weight average and the loss
  smooths along edges. Where the starting model explains the strokes (trust > 0,
  ml/remember.py), fine-tuning stays near it: the lower learning rate, the anchor,
  remembering its outputs, and the user's output layer starts from its answer (which already
  carries class shares, so none are measured). Where it does not (images of a kind it has
  never seen), it is only a start: the plain learning rate and nothing pulled back (what is
  shown before the first step is the strokes read on its features).
Keeping the answers shown before corrections is off with BatchNorm, where the network spreads
a correction instead of holding it; with GroupNorm (the starting model's) it holds. Flip consistency starts once the network is sure enough to be its own target,
counting the steps a model trained in earlier runs.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from torch import nn

from unet_studio.ml.class_shares import ClassShares
from unet_studio.ml.config import TrainConfig
from unet_studio.ml.consistency import FlipConsistency
from unet_studio.ml.corrections import Corrections
from unet_studio.ml.model_file import Model
from unet_studio.ml.remember import RememberStartingModel, Remembering
from unet_studio.ml.terms import AnchorPull, LabeledStrokes, Smoothness, Term
from unet_studio.ml.weight_average import WeightAverage


@dataclass
class Recipe:
    """lr: the base learning rate; terms: the terms used, in the order the trainer calls them
    (the losses are summed in this order); said: the recipe in the user's words, or '';
    answers_at_once: the network gives a useful answer before its first step (its new output
    layer was started from the trusted starting model's answer), so it is worth showing at
    once; first_answer: where it does not (an untrusted starting model), an output layer read
    from the strokes on the starting model's features, shown before the first step in place of
    the network's undecided one. The network itself still trains from its undecided layer:
    started from the read layer, it learned faster in its first 80 steps but its correction
    rounds lost up to 0.05 F1 (benchmarks/levers.md)."""
    lr: float
    terms: list[Term] = field(default_factory=list)
    said: str = ""
    answers_at_once: bool = False
    first_answer: nn.Module | None = None


def build_recipe(config: TrainConfig, model: Model, starting: Remembering | None = None,
                 painted_since: bool = False, trained_before: int = 0) -> Recipe:
    """The recipe for training `model` (its network not yet trained in this run).

    starting: the untouched starting model, its trust measured, when fine-tuning it;
    painted_since: training on from the user's model, the strokes differ from those it was
    trained with; trained_before: steps the model trained in earlier runs."""
    fine_tuning = starting is not None
    trusted = fine_tuning and starting.trust > 0
    answers_at_once, first_answer = False, None
    if trusted:
        answers_at_once = starting.start_head(model.net.outc)
        starting.kept_by(model.net)
    else:   # nothing keeps it near the starting model's answers: it would not tell boundaries
        model.net.keep_starting_head(None)
        if fine_tuning:
            layer = copy.deepcopy(model.net.outc)
            first_answer = layer if starting.read_strokes(layer, model.n_classes) else None
    shares = config.class_shares and config.balance_classes and not trusted
    if not shares:   # a shift measured for a layer that learned from the strokes alone
        model.net.outc.class_shift.zero_()
        model.summary.pop("class_shares", None)
    terms = [
        LabeledStrokes(config.balance_classes),
        RememberStartingModel(starting, config.remember * starting.trust if trusted else 0.0,
                              from_the_start=painted_since, head_weight=config.remember),
        Corrections(0.0 if _has_batchnorm(model.net) else config.keep_before_corrections,
                    from_the_start=painted_since, every=config.keep_before_every),
        FlipConsistency(config.flip_consistency, after_steps=config.consistency_after - trained_before),
        Smoothness(config.smoothness_weight if fine_tuning else 0.0, config.smoothness_sigma),
        AnchorPull(config.anchor if trusted else 0.0),
        WeightAverage(config.average_weights if fine_tuning else 0.0, config.follow_new_strokes),
        ClassShares(on=shares, every=config.preview_every),
    ]
    lr = config.finetune_lr if trusted else config.lr
    return Recipe(lr, [t for t in terms if t.weight > 0], _said(starting) if fine_tuning else "", answers_at_once,
                  first_answer)


def _said(starting: Remembering) -> str:
    """What the starting model's agreement with the strokes means for the user."""
    share = f"{starting.agreement:.0%} of your {'first ' if starting.agreement_before is not None else ''}strokes"
    if starting.trust > 0:
        return (f"the starting model already recognises most of your images ({share}): "
                "it keeps what it knows and adapts to yours")
    return (f"your images look new to the starting model (it recognises {share}): "
            "it learns them from your strokes")


def _has_batchnorm(net: nn.Module) -> bool:
    return any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
