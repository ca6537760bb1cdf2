"""How a run trains: the learning rate and what holds fine-tuning near the starting model.

Training from scratch, or on from a model trained from scratch, uses the plain learning rate
and nothing else. Fine-tuning the starting model depends on how far it already explains the
user's strokes (its trust, ml/remember.py), measured before the first step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from unet_studio.ml.remember import Remembering

if TYPE_CHECKING:
    from unet_studio.ml.train import TrainConfig


@dataclass
class Recipe:
    """lr: base learning rate; average_weights: decay of the weight average the user sees (0:
    none); smoothness: weight of the edge-aware smoothness; anchor: pull toward the starting
    weights; remember: the starting model's outputs to keep (or None); said: for the user."""
    lr: float
    average_weights: float = 0.0
    smoothness: float = 0.0
    anchor: float = 0.0
    remember: Remembering | None = None
    said: str = ""
    class_shares: bool = False  # predict with the images' class shares (ml/class_shares.py)


def plain_recipe(config: TrainConfig) -> Recipe:
    """Training from scratch, or on from a model trained from scratch: the plain learning rate;
    the output layer learns from the strokes alone, so it predicts with the class shares."""
    return Recipe(config.lr, class_shares=_shares_apply(config))


def _shares_apply(config: TrainConfig) -> bool:
    """Class shares correct a layer trained on class-balanced strokes, if the user wants them."""
    return config.class_shares and config.balance_classes


def fine_tuning_recipe(config: TrainConfig, starting: Remembering) -> Recipe:
    """The recipe measured for fine-tuning the starting model (benchmarks/README.md), once its
    trust is measured. Both ways the user sees the weight average and the loss smooths along
    edges. Where the starting model explains the strokes (trust > 0: DSB nuclei), fine-tuning
    stays near it: the lower learning rate, the anchor, and remembering its outputs. Where it
    does not (images of a kind it has never seen, such as electron microscopy), it is only a
    start: the plain learning rate, nothing pulled back (ISBI membrane F1 0.70 -> 0.72)."""
    share = f"{starting.agreement:.0%} of your {'first ' if starting.agreement_before is not None else ''}strokes"
    if starting.trust > 0:
        return Recipe(config.finetune_lr, config.average_weights, config.smoothness_weight, config.anchor,
                      starting if starting.weight > 0 else None,
                      f"the starting model already agrees with {share}, so what it knows is kept")
    return Recipe(config.lr, config.average_weights, config.smoothness_weight,
                  said=f"the starting model agrees with only {share}, so it learns your images freely",
                  class_shares=_shares_apply(config))
