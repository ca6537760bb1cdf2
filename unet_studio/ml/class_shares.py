"""How much of the image each class covers, for a network that learned from class-balanced strokes.

The loss weighs each class's strokes alike (ml/loss.py) and patches are drawn around each
class equally often (ml/data.py). A network that learns the user's classes from the strokes
alone therefore answers as if every class covered the same share of the image, and where
one class is rare it draws that class too wide (thin membranes come out too thick).

Saerens, Latinne and Decaestecker (2002, "Adjusting the outputs of a classifier to new a
priori probabilities: a simple procedure") estimate the shares the images really have from
the network's own answers on them, by expectation-maximisation, and move each answer to
those shares: p'(c | x) ~ p(c | x) * K * share_c, a shift of log(K * share_c) on the logits.
Here the answers are those on patches spread evenly over the planes the user labeled,
measured again as the network learns (as often as previews, in at most SHARES_TIME of the
time). The shift lives in the output layer (`OutConv.class_shift`): every prediction uses
it, training does not.

The estimate is only as good as the network's answers: EM collapses a class whose answers are
weak everywhere (a class painted during training) to a share of 0, and a shift too strong for
the answers turns painted pixels to the wrong class. The strokes are the one truth there is, so the
shift is applied only as far as it leaves each class's strokes as well predicted as without
it (`strength_the_strokes_allow`).

Only for an output layer that learned from the strokes alone; ml/recipe.py decides when.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from unet_studio.ml.loss import labels_to_target
from unet_studio.ml.schedule import next_due
from unet_studio.ml.terms import Term
from unet_studio.ml.tiling import prepare_inference

if TYPE_CHECKING:
    from unet_studio.ml.trainer import Trainer

PATCHES = 8                # patches the shares are measured on (8 x 128² px), and as many around strokes
MIN_SHARE = 0.01           # no class is taken to cover less of the image than this (bounds the shift)
STROKE_TOLERANCE = 0.01    # the shift may cost each class at most this share of its strokes
SHARES_TIME = 0.02         # measuring takes at most this share of the training time


def estimate_shares(probabilities: np.ndarray, iterations: int = 100, tolerance: float = 1e-5) -> np.ndarray:
    """(K, N) class probabilities of N pixels from a network trained as if each class covered
    1/K of the image -> (K,) the class shares that explain them best (the EM of Saerens et al.)."""
    p = np.asarray(probabilities, np.float64)
    k = p.shape[0]
    shares = np.full(k, 1.0 / k)
    for _ in range(iterations):
        adjusted = p * (k * shares)[:, None]
        adjusted /= np.maximum(adjusted.sum(0, keepdims=True), 1e-12)
        new = adjusted.mean(1)
        done = np.abs(new - shares).max() < tolerance
        shares = new
        if done:
            break
    return shares


def class_shift(shares: np.ndarray) -> np.ndarray:
    """(K,) class shares -> (K,) logit shift log(K * share), each share at least MIN_SHARE."""
    shares = np.maximum(np.asarray(shares, np.float64), MIN_SHARE)
    shares = shares / shares.sum()
    return np.log(len(shares) * shares).astype(np.float32)


class ClassShares(Term):
    """Measures the class shares of the planes labeled in the training set with the network the
    user sees, and sets the output layers' shift to them, as far as the strokes allow: every
    `every` seconds at the most (in at most SHARES_TIME of the time) and after the last step."""
    name = "class_shares"

    def __init__(self, on: bool = True, every: float = 3.0, patches: int = PATCHES):
        self.weight = 1.0 if on else 0.0
        self.every, self.patches = float(every), patches
        self.anywhere: torch.Tensor | None = None     # patches anywhere in the labeled planes
        self.strokes: tuple[torch.Tensor, torch.Tensor] | None = None   # patches around strokes, targets
        self.shares: np.ndarray | None = None
        self.strength = 0.0
        self.due = 0.0

    def applies(self, step: int) -> bool:
        return False   # no loss: it measures between steps

    def start(self, run: Trainer) -> None:
        self.prepare(run.data, run.seed, run.in_size, run.margin, run.device)
        self.due = run.started + self.every

    def prepare(self, data: Any, seed: int, size: int, margin: int, device: torch.device) -> None:
        """Measure on `data` (a TrainingSet), patches of `size` px whose output loses `margin`."""
        self.data, self.size, self.margin, self.device = data, size, margin, device
        self.rng = np.random.default_rng([seed, 2])   # its own: the training batches stay the same

    def labels_changed(self, run: Trainer) -> None:
        self.redraw()

    def between_steps(self, run: Trainer, now: float) -> None:
        if now >= self.due:   # before a preview, which shows them
            self.measure(run.model.net, run.net)
            self.due = next_due(now, time.perf_counter() - now, self.every, SHARES_TIME)

    def finish(self, run: Trainer) -> None:
        if run.step > 0:
            self.measure(run.model.net, run.net)

    def summarise(self, summary: dict) -> None:
        if self.shares is not None:
            summary["class_shares"] = [round(float(v), 3) for v in self.shares]

    def redraw(self) -> None:
        """Draw new patches at the next measurement (the labels changed: maybe new planes)."""
        self.anywhere = self.strokes = None

    def _draw(self) -> bool:
        """Draw the patches; False if nothing is labeled (everything erased meanwhile)."""
        planes = self.data.labeled_planes()
        if not planes:
            return False
        areas = np.array([float(np.prod(self.data.images[i].label_shape[-2:])) for i, _ in planes])
        patches = []
        for index in self.rng.choice(len(planes), self.patches, p=areas / areas.sum()):
            img_i, plane_idx = planes[index]
            height, width = self.data.images[img_i].label_shape[-2:]
            # Anywhere in the plane; a plane smaller than a patch is centred (mirrored around).
            y0 = int(self.rng.integers(height - self.size + 1)) if height >= self.size else (height - self.size) // 2
            x0 = int(self.rng.integers(width - self.size + 1)) if width >= self.size else (width - self.size) // 2
            patches.append(self.data.image_patch(img_i, plane_idx, y0, x0, self.size))
        self.anywhere = torch.from_numpy(np.stack(patches)).to(self.device)
        images, labels, _ = self.data.sample(self.rng, self.patches, self.size)
        target = labels_to_target(torch.from_numpy(labels))
        if self.margin:
            target = target[:, self.margin:-self.margin, self.margin:-self.margin]
        self.strokes = torch.from_numpy(images).to(self.device), target.to(self.device)
        return True

    def _logits(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """(N, K, H, W) float logits of `net` (an inference copy), without the shift."""
        x = x.to(dtype=net.outc.weight.dtype).contiguous(memory_format=torch.channels_last)
        return torch.cat([net.outc.without_shift(net.features(part)).float() for part in x.split(4)])

    @torch.no_grad()
    def measure(self, shown: nn.Module, *others: nn.Module) -> np.ndarray | None:
        """Estimate the shares with `shown` (the network the user sees) and set the shift of its
        output layer and of `others` (the live network, whose buffers the average copies).
        With nothing labeled, the shift stays as it is."""
        if (self.anywhere is None or self.strokes is None) and not self._draw():
            return self.shares
        frozen = prepare_inference(shown, self.device, views=1).net   # as a prediction runs it
        logits = self._logits(frozen, self.anywhere)
        at_strokes = self._logits(frozen, self.strokes[0])
        probs = F.softmax(logits, 1).transpose(0, 1).reshape(logits.shape[1], -1)
        self.shares = estimate_shares(probs.cpu().numpy())
        full = torch.from_numpy(class_shift(self.shares)).to(at_strokes.device)
        self.strength = strength_the_strokes_allow(at_strokes, self.strokes[1], full)
        for net in (shown, *others):
            net.outc.class_shift.copy_(self.strength * full)
        return self.shares


def strength_the_strokes_allow(logits: torch.Tensor, target: torch.Tensor, shift: torch.Tensor) -> float:
    """The largest of 1, 3/4, 1/2, 1/4 (else 0) such that `strength * shift` leaves every class's
    strokes as well predicted as without it, within STROKE_TOLERANCE.

    logits (N, K, H, W) without the shift; target (N, H, W) class indices (-1 unlabeled).
    Early in training a full-strength shift can undo most of a class's strokes; later it
    costs them little, so the strength the strokes allow grows as the network learns.
    """
    labeled = target >= 0
    classes = target[labeled]
    picked = logits.permute(0, 2, 3, 1)[labeled]          # (P, K)
    strokes = torch.bincount(classes, minlength=logits.shape[1]).clamp(min=1)

    def right(s: torch.Tensor) -> torch.Tensor:          # share of each class's strokes predicted right
        hit = ((picked + s).argmax(1) == classes).float()
        return torch.bincount(classes, weights=hit, minlength=logits.shape[1]) / strokes

    plain = right(torch.zeros_like(shift))
    for strength in (1.0, 0.75, 0.5, 0.25):
        if bool((right(strength * shift) >= plain - STROKE_TOLERANCE).all()):
            return strength
    return 0.0
