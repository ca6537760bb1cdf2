"""Keeping what the starting model knows while fine-tuning, as far as the user's strokes agree with it.

Fine-tuning on a few strokes teaches the user's classes, and wears away what the starting
model learned from thousands of objects: on nuclei, where it splits touching objects, a
fine-tuned mask joins them. Learning without forgetting (Li & Hoiem 2016) keeps it: a copy of
the starting model's own output layer (background / object / boundary) sits on the
fine-tuned features, and on every training patch its output is pulled toward the untouched
model's output there (`RememberStartingModel`). The features then keep serving both, and the
user's layer learns on top of them.

That is only right where the starting model is right: on images it has never seen (electron
microscopy) it holds the fine-tuned network back. So the pull is weighted by `trust`: how
well the untouched model already explains the strokes. Each of its classes is read as the
user class whose strokes it covers most, and `agreement` is the mean over user classes of the
share of their stroke pixels it gets right, counted where the hand aimed (the pixels training
trusts fully: ml/stroke_trust.py), not where a wide brush spilled over. Full weight at
agreement 1, none at NO_TRUST_BELOW or less: between the images it has never seen (EM membranes
and cells, 0.80-0.84), which keeping it holds back, and those it knows only roughly (nuclei
painted across their rims, brightfield nuclei, blobs: 0.88-0.94), which keeping it helps even
at low trust (benchmarks/README.md). Trust also chooses the rest of the fine-tuning recipe
(ml/recipe.py): untrusted, the starting model is only where training starts.

A trusted starting model also gives the user's new output layer its start (`start_head`): the
layer is fitted, before the first step, to the untouched model's answer read in the user's
classes, so fine-tuning begins from what the starting model sees instead of from an undecided
layer that learns the class borders only from strokes along the middle of regions.

An untrusted starting model is still where the network starts, and its features tell the
user's classes apart well enough for a first look: an output layer fitted to the strokes on
them (`read_strokes`) is what the user sees before the first step on images it has never seen
(electron microscopy). The network trains from its own undecided layer (ml/recipe.py).

Strokes painted after trust was measured are corrections, painted where the model shown was
wrong; where the untouched model is wrong there too (a halo it calls object), keeping it would
hold the correction back. From then on its answer is not kept on the strokes that contradict
it, nor on pixels that look like them (ml/corrected_look.py).

The network keeps that copy (UNet.starting_head, `kept_by`): trained with it, it goes on
reading the fine-tuned features as the starting model would, and its boundary class parts
touching objects where the user's classes do not (ml/objects.py). Trust sets how strongly the
features are held to the starting model; the copy itself learns to read them at full weight
whatever the trust, so it follows features that were let go. The user's classes are
the network's output; the copy only adds the boundary map prediction gives beside them.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from unet_studio.ml.corrected_look import CorrectedLook, contradicted
from unet_studio.ml.device import training_memory_format
from unet_studio.ml.loss import labels_to_target
from unet_studio.ml.stroke_trust import AIMED
from unet_studio.ml.terms import Batch, Term

NO_TRUST_BELOW = 0.87  # agreement at or below which the starting model is not kept at all
PIXELS_PER_BATCH = 4096   # pixels of each trust batch the user's new output layer is fitted on
STROKE_PIXELS = 65536     # stroke pixels at most that an untrusted model's new layer reads


class Remembering:
    """The untouched starting model, how far it explains the strokes (its trust), and a copy of
    its output layer to train on the fine-tuned features."""

    def __init__(self, starting_net: nn.Module, device: torch.device, agreement_before: float | None = None):
        """`agreement_before`: training again from the user's model, the agreement measured when
        it was first fine-tuned; kept instead of measured again (see `measure_trust_on`)."""
        self.agreement_before = agreement_before
        self.layout = training_memory_format(device)
        self.teacher = copy.deepcopy(starting_net).to(device, memory_format=self.layout)
        self.teacher.eval().requires_grad_(False)
        self.head = copy.deepcopy(starting_net.outc).to(device).train()
        for p in self.head.parameters():
            p.requires_grad_(True)
        self.agreement: float | None = None
        self.trust = 0.0
        self.reading: np.ndarray | None = None   # starting class -> the user class it is read as
        self.look: CorrectedLook | None = None   # once strokes changed (watch_corrections)
        self._sample: list[tuple[torch.Tensor, torch.Tensor]] = []   # pixels measured on, for start_head
        self._strokes: list[tuple[torch.Tensor, torch.Tensor]] = []  # stroke pixels, for read_strokes

    @torch.no_grad()
    def measure_trust(self, batches: list[tuple], n_user_classes: int) -> float:
        """Measure agreement and trust on patches (x, target[, weight]) with target -1 where
        unlabeled; a stroke pixel counts its weight (None or absent: 1); returns the agreement
        (see module docstring)."""
        counts = torch.zeros(n_user_classes, self.head.out_channels, dtype=torch.float64)
        gen = torch.Generator().manual_seed(0)
        self._sample, self._strokes = [], []
        for x, target, *weight in batches:
            weight = weight[0] if weight else None
            features = self.teacher.features(x.contiguous(memory_format=self.layout))
            probs = F.softmax(self.teacher.outc(features).float(), 1)
            for k in range(n_user_classes):
                at = target == k
                if at.any():
                    read = probs.permute(1, 0, 2, 3)[:, at]
                    counts[k] += (read if weight is None else read * weight[at]).sum(1).double().cpu()
            painted = target >= 0
            self._strokes.append((features.permute(0, 2, 3, 1)[painted].float(), target[painted]))
            # A sample of pixels, (P, C) features and (P, S) answers, for start_head: picked by
            # flat (image, y, x) index, gathered without copying the whole batch first.
            per_image = features.shape[2] * features.shape[3]
            pick = torch.randperm(len(features) * per_image, generator=gen)[:PIXELS_PER_BATCH]
            image, pixel = (pick // per_image).to(features.device), (pick % per_image).to(features.device)
            self._sample.append(tuple(t.flatten(2)[image, :, pixel].float() for t in (features, probs)))
        self.reading = reading(counts.numpy())
        return self._agree(agreement(counts.numpy()))

    def _agree(self, value: float) -> float:
        self.agreement = value
        self.trust = trust(value)
        if self.trust > 0:   # read_strokes is for an untrusted model only
            self._strokes = []
        return value

    def read_strokes(self, head: nn.Module, n_classes: int, steps: int = 60) -> bool:
        """Fit an all-zero output layer to the strokes themselves, on the untouched model's
        features at the stroke pixels trust was measured on (classes weighted alike): a
        starting model that does not explain the strokes still has features to read them from,
        an answer to show before the first step. Only for an untrusted model (a trusted one
        starts the user's layer from its own answer: start_head), and only for a layer not
        fitted yet; returns whether it fitted."""
        strokes, self._strokes = self._strokes, []
        if self.trust > 0 or not strokes or any(p.detach().abs().sum() > 0 for p in head.parameters()):
            return False
        features = torch.cat([f for f, _ in strokes])
        target = torch.cat([t for _, t in strokes])
        if len(target) > STROKE_PIXELS:   # filled regions: a sample is as good and bounded
            pick = torch.randperm(len(target), generator=torch.Generator().manual_seed(0))[:STROKE_PIXELS]
            features, target = features[pick.to(features.device)], target[pick.to(target.device)]
        present = torch.bincount(target, minlength=n_classes)
        if (present > 0).sum() < 2:
            return False
        weight = torch.where(present > 0, present.sum() / (present.clamp(min=1) * (present > 0).sum()), 0.0)
        return _fit_layer(head, features, lambda logits: F.cross_entropy(logits, target, weight=weight.float()),
                          steps)

    def start_head(self, head: nn.Module, steps: int = 60) -> bool:
        """Fit the user's new (all-zero, undecided) output layer to the untouched model's own
        answer read in the user's classes (its object + boundary as "nucleus", say),
        on the patches trust was measured on. Fine-tuning then starts from what the starting
        model sees instead of re-learning the class borders from strokes that lie along the
        middle of regions (where the rim of an object goes to the background). Only for a
        trusted model, and only for a new layer; returns whether it fitted. The pixels measured
        on are used once, whatever the answer."""
        sample, self._sample = self._sample, []
        if self.trust <= 0 or not sample or any(p.detach().abs().sum() > 0 for p in head.parameters()):
            return False
        reads = torch.zeros(len(self.reading), head.out_channels)
        reads[torch.arange(len(self.reading)), torch.as_tensor(self.reading)] = 1.0
        features = torch.cat([f for f, _ in sample])
        target = torch.cat([p for _, p in sample]) @ reads.to(features.device)   # (P, K)
        return _fit_layer(head, features, lambda logits: -(target * F.log_softmax(logits, 1)).sum(1).mean(),
                          steps)

    def measure_trust_on(self, data, seed: int, batch: int, in_size: int, margin: int, device,
                         trust_centres: float = 0.0, trust_looks: float = 0.0) -> float:
        """`measure_trust` on 32 training patches around the strokes of `data` (a TrainingSet),
        drawn with their own generator so the training batches stay the same. trust_centres:
        the power of ml/stroke_trust.py training weighs the strokes with (0: every pixel alike);
        the agreement is measured on the stroke pixels it trusts fully (the centre line of a
        stroke and AIM either side, not its sides nor its round ends), so the starting model is not
        held to where a wide brush spilled over an edge: nuclei painted across, over their rims,
        would otherwise read as a model that does not know nuclei (the threshold is the same).
        trust_looks: as training weighs them (it leaves the pixels trusted fully as they are).

        Training again from the user's model keeps the agreement it was first fine-tuned with:
        trust says whether the starting model suits these images, and strokes painted since
        are corrections, painted exactly where the model was wrong, so they read as
        disagreement and would change the recipe between two runs on the same images. A model
        remembered is still measured, for its reading of the classes (`reading`)."""
        if self.agreement_before is not None and trust(self.agreement_before) <= 0:
            return self._agree(float(self.agreement_before))   # not remembered: nothing to read
        rng = np.random.default_rng([seed, 1])
        batches = []
        for _ in range(max(1, 32 // batch)):
            images, labels, weights = data.sample(rng, batch, in_size, trust_centres=trust_centres,
                                                     trust_looks=trust_looks)
            y = torch.from_numpy(labels).to(device)
            w = None if weights is None else torch.from_numpy((weights >= AIMED).astype(np.float32)).to(device)
            if margin:
                y = y[:, margin:-margin, margin:-margin]
                w = None if w is None else w[:, margin:-margin, margin:-margin]
            batches.append((torch.from_numpy(images).to(device), labels_to_target(y), w))
        measured = self.measure_trust(batches, data.n_classes)
        if self.agreement_before is not None:   # measured for the reading; the agreement is kept
            return self._agree(float(self.agreement_before))
        return measured

    def loss(self, features: torch.Tensor, x: torch.Tensor,
             labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Sums over pixels of KL(untouched model || this head on the fine-tuned features), the
        same with the features detached (it trains the head alone), and the number of pixels:
        (sum, head's sum, pixels). Once strokes have changed (`watch_corrections`),
        `labels` (N, H, W) class indices (-1 unlabeled): pixels that look like those where the
        strokes contradict the untouched model, and those strokes, are not kept
        (ml/corrected_look.py)."""
        with torch.no_grad():
            own = self.teacher.features(x)
            target = F.softmax(self.teacher.outc(own).float(), 1)
            released = None
            if self.look is not None and labels is not None and self.reading is not None:
                read = torch.as_tensor(self.reading, device=target.device)[target.argmax(1)]
                # and the contradicted strokes themselves (the user's layer learns them)
                released = self.look.released(own, read, labels) | contradicted(read, labels)
        pixels = target.numel() / target.shape[1]
        sums = []
        for seen in (features, features.detach()):
            kl = F.kl_div(F.log_softmax(self.head(seen).float(), 1), target, reduction="none").sum(1)
            sums.append(kl.sum() if released is None else kl[~released].sum())
        return sums[0], sums[1], pixels

    def kept_by(self, net: nn.Module) -> None:
        """The fine-tuned `net` keeps the output layer's copy, trained with its parameters: the
        one it kept from an earlier run (trained again from the user's model), else this one."""
        if net.starting_head is not None and net.starting_head.out_channels == self.head.out_channels:
            self.head = net.starting_head.train()
        else:
            net.keep_starting_head(self.head)

    def watch_corrections(self) -> None:
        """The strokes changed since trust was measured: from now on, let go of what looks like
        the pixels they contradict the untouched model on."""
        if self.look is None:
            self.look = CorrectedLook()


class RememberStartingModel(Term):
    """The loss that keeps the starting model's own outputs: `weight` x the mean over pixels of
    KL(untouched model || its output layer's copy on the fine-tuned features). The copy is
    trained too, at `head_weight` (at least `weight`; see the module docstring): the network
    keeps it (`Remembering.kept_by`), so it is among its parameters."""
    name = "remember"

    def __init__(self, starting: Remembering | None, weight: float, from_the_start: bool = False,
                 head_weight: float = 0.0):
        """`from_the_start`: training on after painting: the strokes already differ from those
        trust was measured with."""
        self.starting, self.weight = starting, float(weight)
        self.head_weight = max(float(head_weight), self.weight)
        self.from_the_start = from_the_start

    def start(self, run) -> None:
        if self.from_the_start:
            self.starting.watch_corrections()

    def labels_changed(self, run) -> None:
        self.starting.watch_corrections()

    def loss(self, batch: Batch) -> torch.Tensor:
        kl, head_kl, pixels = self.starting.loss(batch.features, batch.images, batch.target)
        return (self.weight * kl + (self.head_weight - self.weight) * head_kl) / pixels


def agreement(counts: np.ndarray) -> float:
    """counts (user classes K, starting classes S): starting-model probability mass on each user
    class's stroke pixels. Each starting class is read as the user class it covers most (by
    share of that class's strokes); returns the mean over user classes with strokes of the
    share of their pixels read right."""
    present = np.flatnonzero(counts.sum(1) > 0)
    if len(present) < 2:
        return 0.0
    share, read = _shares(counts), reading(counts)
    return float(np.mean([share[k, read == k].sum() for k in present]))


def _fit_layer(head: nn.Module, features: torch.Tensor, loss_of, steps: int) -> bool:
    """Fit the 1x1 conv `head` to minimise loss_of(logits) on (P, C) `features`; True."""
    weight = head.weight.detach().flatten(1).clone().requires_grad_(True)   # a 1x1 conv as (K, C)
    bias = head.bias.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([weight, bias], lr=0.05)
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss_of(F.linear(features, weight, bias)).backward()
            opt.step()
    with torch.no_grad():
        head.weight.copy_(weight.view_as(head.weight))
        head.bias.copy_(bias)
    return True


def reading(counts: np.ndarray) -> np.ndarray:
    """counts as in `agreement` -> (S,) the user class (0-based) each starting class is read as."""
    return _shares(counts).argmax(0)


def _shares(counts: np.ndarray) -> np.ndarray:
    """Each row of counts as shares of its sum (rows without strokes stay 0)."""
    return counts / np.maximum(counts.sum(1, keepdims=True), 1e-12)


def trust(agreement_value: float) -> float:
    """0 at or below NO_TRUST_BELOW, rising linearly to 1 at full agreement."""
    return float(np.clip((agreement_value - NO_TRUST_BELOW) / (1.0 - NO_TRUST_BELOW), 0.0, 1.0))
