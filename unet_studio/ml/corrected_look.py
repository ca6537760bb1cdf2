"""Which pixels look like the ones a correction was painted on.

Two terms of the recipe hold on to an earlier answer while the user's model trains: the answers
shown before the latest strokes (ml/corrections.py) and the untouched starting model's
(ml/remember.py). A correction is painted exactly where that earlier answer was wrong, and the
same mistake usually repeats all over the image (a bright halo around every cell called cell):
held on to there, the earlier answer keeps the correction from spreading, and even from showing
where it was painted.

So each of them lets go of the pixels that look like the corrected ones, by a nearest-mean rule
in the earlier network's own features: for each class the earlier network answered, the mean
feature (direction) of the stroke pixels where that answer was wrong and of those where it was
right; an unpainted pixel with that answer whose features are nearer the wrong mean is released.
Nothing is released for an answer no stroke has contradicted, so what the strokes confirm, and
everything while no stroke contradicts anything, is held as before. The means are running
averages over the batches, so patches without a correction in them are judged too.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

MEAN_DECAY = 0.9   # per batch with such pixels: how fast a running mean follows the newer ones


class CorrectedLook:
    """Running mean feature directions of stroke pixels, by the earlier answer there and whether
    it was right, and the unpainted pixels nearer the wrong ones."""

    def __init__(self):
        self.wrong: dict[int, torch.Tensor] = {}
        self.right: dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def released(self, features: torch.Tensor, answer: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """features (N, C, H, W) of the earlier network, answer (N, H, W) its class (in the user's
        classes), target (N, H, W) the strokes (-1 unlabeled) -> (N, H, W) bool: unpainted pixels
        to let go of. Learns the batch's strokes first."""
        unit = F.normalize(features.float(), dim=1).permute(0, 2, 3, 1)   # (N, H, W, C)
        self._learn(unit, answer, target)
        out = torch.zeros_like(target, dtype=torch.bool)
        for j, wrong in self.wrong.items():
            right = self.right.get(j)
            at = (answer == j) & (target < 0)
            if right is None or not bool(at.any()):
                continue
            pixels = unit[at]
            out[at] = pixels @ wrong > pixels @ right
        return out

    def _learn(self, unit: torch.Tensor, answer: torch.Tensor, target: torch.Tensor) -> None:
        painted = target >= 0
        wrong = contradicted(answer, target)
        for j in answer[painted].unique().tolist():
            for means, at in ((self.wrong, wrong & (answer == j)),
                              (self.right, painted & ~wrong & (answer == j))):
                if bool(at.any()):
                    mean = F.normalize(unit[at].mean(0), dim=0)
                    means[j] = mean if j not in means else F.normalize(
                        MEAN_DECAY * means[j] + (1 - MEAN_DECAY) * mean, dim=0)


def contradicted(answer: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, H, W) bool: the stroke pixels (target >= 0) painted another class than `answer`."""
    return (target >= 0) & (answer != target)
