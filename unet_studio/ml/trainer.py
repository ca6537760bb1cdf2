"""One optimiser step at a time, with the terms of a recipe (ml/recipe.py).

The step is the whole of training's arithmetic: the batch to the device, augmented, through
the network, each term's loss that applies, their sum backward, the optimiser step, then the
terms' after-step work (the anchor pull, the weight average). Everything else a run does
(budgets, previews, reports) is the caller's (ml/train.py), as in MONAI's SupervisedTrainer.
"""
from __future__ import annotations

import torch

from unet_studio.ml.augment import elastic_deform, jitter_intensity
from unet_studio.ml.config import TrainConfig
from unet_studio.ml.data import TrainingSet
from unet_studio.ml.device import adamw, autocast, make_grad_scaler, training_memory_format
from unet_studio.ml.loss import labels_to_target
from unet_studio.ml.model_file import Model
from unet_studio.ml.recipe import Recipe
from unet_studio.ml.schedule import lr_factor, set_batchnorm_momentum
from unet_studio.ml.terms import Batch


class Trainer:
    """Trains `model.net` (the live network, `net`) with `recipe` on batches of `data`.

    `model.net` is what the user sees (previews, Stop, the saved model): the live network, or
    the weight average when the recipe keeps one (its `start` swaps it in)."""

    def __init__(self, model: Model, data: TrainingSet, recipe: Recipe, config: TrainConfig,
                 device: torch.device, seed: int, started: float):
        """`started`: time.perf_counter() when the run started (its budget counts from then)."""
        self.model, self.net, self.data, self.recipe, self.config = model, model.net, data, recipe, config
        self.device, self.started = device, started
        self.margin = self.net.margin()
        self.in_size = self.net.input_size_for(config.patch + 2 * self.margin)
        self.seed = seed
        self.terms = recipe.terms
        self.gen = torch.Generator().manual_seed(seed)
        for term in self.terms:
            term.start(self)
        self.opt = adamw(self.net.parameters(), lr=recipe.lr, weight_decay=config.weight_decay)
        for term in self.terms:
            params = list(term.parameters())
            if params:
                self.opt.add_param_group({"params": params})
        self.scaler = make_grad_scaler(device)
        self.layout = training_memory_format(device)   # of the patches, as the network's
        self.batchnorms = [m for m in self.net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        self.step = 0

    @property
    def lr(self) -> float:
        """The network's learning rate now."""
        return self.opt.param_groups[0]["lr"]

    def train_on(self, images, labels, weights, elapsed: float) -> torch.Tensor | None:
        """One step on a batch from `TrainingSet.sample` at `elapsed` s into the run; returns the
        loss on the painted pixels (0-d, detached) or None if nothing in it was labeled."""
        for group in self.opt.param_groups:
            group["lr"] = self.recipe.lr * lr_factor(self.config, self.step, elapsed)
        set_batchnorm_momentum(self.batchnorms, self.step)
        batch = self._batch(images, labels, weights)
        losses = None if batch is None else self._optimise(batch)
        for term in self.terms:
            term.after_step(self, losses is not None)
        self.step += 1
        return None if losses is None else losses["strokes"].detach()

    def labels_changed(self) -> None:
        """The strokes changed while training."""
        for term in self.terms:
            term.labels_changed(self)

    def between_steps(self, now: float) -> None:
        """After a step (`now`: time.perf_counter() then), before a live preview."""
        for term in self.terms:
            term.between_steps(self, now)

    def finish(self) -> None:
        """After the last step."""
        for term in self.terms:
            term.finish(self)

    def summarise(self, summary: dict) -> None:
        """What the terms measured, into `summary`."""
        for term in self.terms:
            term.summarise(summary)

    def _batch(self, images, labels, weights) -> Batch | None:
        """The batch on the device, augmented, labels cropped to the output; None if unlabeled."""
        x = torch.from_numpy(images).to(self.device)
        y = torch.from_numpy(labels).to(self.device)
        w = torch.from_numpy(weights).to(self.device) if weights is not None else None
        if self.config.augment:
            if self.config.elastic:
                x, y, w = elastic_deform(x, y, w, self.gen)
            x = jitter_intensity(x, self.gen)
        if m := self.margin:
            y = y[:, m:-m, m:-m]
            w = w[:, m:-m, m:-m] if w is not None else None
        target = labels_to_target(y)
        if not bool((target >= 0).any()):
            return None
        return Batch(x.contiguous(memory_format=self.layout), target, w)

    def _optimise(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Forward, the terms' losses (in the recipe's order), backward, optimiser step."""
        with autocast(self.device):
            batch.features = self.net.features(batch.images)
            batch.logits = self.net.outc(batch.features)
            losses = {t.name: t.loss(batch) for t in self.terms if t.applies(self.step)}
        losses = {name: value for name, value in losses.items() if value is not None}
        total = None
        for value in losses.values():
            total = value if total is None else total + value
        self.opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            total.backward()
            self.opt.step()
        return losses
