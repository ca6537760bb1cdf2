"""How to train, in four groups: the budget, the network, the optimisation, the recipe's terms
and the live behaviour. `TrainConfig` is all of them in one flat dataclass, so a setting is
passed and read by its own name (`TrainConfig(lr=2e-3, norm="group")`); the groups say which
part of the engine reads it. Which terms a run actually uses is decided in one place,
`recipe.build_recipe`, from these settings and what the run starts from.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Budget:
    """When training ends: whichever of time_budget (s) / steps comes first; neither = until
    stopped. seed None: a fresh one per run (the summary keeps it)."""
    time_budget: float | None = None
    steps: int | None = None
    seed: int | None = None
    device: str = "auto"


@dataclass
class Network:
    """The U-Net trained from scratch (ml/unet.py). A model trained on keeps its own."""
    width: int | None = None        # None: default_width(device)
    depth: int = 4
    norm: str = "batch"
    padding: str = "same"
    # Without a model to train on: fine-tune the built-in starting model (ml/starting_model.py)
    # when the architecture asked for is its own (width None or equal, depth, padding).
    starting_model: bool = True


@dataclass
class Optimisation:
    """The batches and the optimiser (ml/trainer.py, ml/schedule.py)."""
    batch: int = 4
    patch: int = 128                # multiple of 16
    lr: float = 1e-3
    finetune_lr: float = 3e-4       # lr when fine-tuning a starting model that explains the
                                    # strokes (its features are kept); one that does not gets `lr`
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    new_strokes_share: float = 0.5  # strokes painted while training: this share of the patches
    new_strokes_steps: int = 60     # centres on them for this many steps after the latest change
    new_strokes_weight: float = 4.0 # ... and their pixels count this many times meanwhile: a
                                    # round of corrections is shown sooner (benchmarks/README.md)
    augment: bool = True
    elastic: bool = True


@dataclass
class RecipeTerms:
    """The weights of the recipe's terms (ml/recipe.py says when each is used); 0: off."""
    border_weight: bool = False     # labeled pixels in the gaps between objects count more
    trust_stroke_centres: float = 3.0   # a painted pixel counts (its depth in the stroke over
                                    # the stroke's half-width) ** this: where a wide brush spilled
                                    # over counts less than where it aimed (ml/stroke_trust.py);
                                    # strokes up to 3 px wide count fully; 0: all pixels alike
    trust_stroke_looks: float = 0.1  # ... and a pixel trusted less than fully counts less again
                                    # the less it looks like where the hand aimed near it: by
                                    # exp(-d² / 2 this²), d its distance in normalised intensity
                                    # (0-1: the image's 1-99.8 % range); 0: not compared
    balance_classes: bool = True    # weight classes by inverse label frequency in each batch
    class_shares: bool = True       # an output layer learned from the strokes alone predicts
                                    # with the images' class shares (ml/class_shares.py)
    smoothness_weight: float = 0.5  # edge-aware smoothness on all pixels (ml/loss.py)
    smoothness_sigma: float = 0.15
    remember: float = 50.0          # fine-tuning the starting model: how strongly its own outputs
                                    # are kept, times its trust (ml/remember.py)
    anchor: float = 10.0            # fine-tuning a trusted starting model: each step pulls every
                                    # layer but the output layer back toward its starting weights
                                    # by anchor * lr (decoupled L2-SP, Li et al. 2018)
    average_weights: float = 0.99   # decay of the weight average the user sees (0: last weights)
    follow_new_strokes: bool = True # strokes painted while training: the average starts again
                                    # from few steps, so what the user sees follows them at once
    flip_consistency: float = 1.0   # unlabeled pixels: the answer on the patch flipped both ways
    consistency_after: int = 150    # is a soft target where sure, from this step on (a model's
                                    # earlier runs count; ml/consistency.py)
    keep_before_corrections: float = 3.0   # strokes painted while training: how strongly the
                                    # answer shown before them is kept elsewhere (ml/corrections.py)
    keep_before_every: int = 2      # ... asked every this many steps, weighted as many times:
                                    # its forward pass costs a third of a step (ml/corrections.py)


@dataclass
class LiveBehaviour:
    """How often the user hears from a run (seconds)."""
    preview_every: float = 3.0      # between live previews, at the least
    preview_share: float = 0.25     # previews take at most this share of the time: a preview
                                    # that took d seconds waits d * (1 - share) / share before
                                    # the next (a whole 2048² plane on a CPU: 2.5 s -> 7.5 s)
    report_every: float = 0.2


@dataclass
class TrainConfig(LiveBehaviour, RecipeTerms, Optimisation, Network, Budget):
    """How to train: every setting of the groups above, by name."""
