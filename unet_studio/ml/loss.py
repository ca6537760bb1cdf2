"""The training loss: cross-entropy on labeled pixels only, classes balanced, optional border weights.

Sparse scribbles mean most pixels have no label (0): they contribute nothing, not "background".
Classes are weighted by their inverse frequency in the batch, so thin strokes of a rare class
count as much as broad strokes of a common one. The paper's border weight map makes the thin
gaps between touching objects expensive to get wrong, which is what separates them later.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from torch.nn import functional as F

IGNORE = -1  # target value of unlabeled pixels (label 0 -> -1, label k -> class index k-1)


def labels_to_target(labels: torch.Tensor) -> torch.Tensor:
    """Label values (0 unlabeled, 1..K) -> class indices (-1 ignored, 0..K-1), int64."""
    return labels.long() - 1


def balanced_class_weights(target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(K,) weights so each class present in `target` carries the same total weight and the
    mean weight over labeled pixels is 1. Absent classes get weight 0 (they do not occur)."""
    labeled = target[target != IGNORE]
    counts = torch.bincount(labeled, minlength=n_classes).float()
    present = counts > 0
    weights = torch.zeros(n_classes, device=target.device)
    if present.any():
        weights[present] = labeled.numel() / (present.sum() * counts[present])
    return weights


def labeled_cross_entropy(logits: torch.Tensor, target: torch.Tensor,
                          pixel_weight: torch.Tensor | None = None,
                          balance: bool = True) -> torch.Tensor:
    """Mean weighted cross-entropy over the labeled pixels.

    logits: (N, K, H, W) float; target: (N, H, W) int64, IGNORE where unlabeled;
    pixel_weight: (N, H, W) float multiplier per pixel (e.g. 1 + border map), or None.
    Returns a scalar; 0 (with a gradient of zero) when nothing is labeled.
    """
    n_classes = logits.shape[1]
    mask = target != IGNORE
    n_labeled = mask.sum()
    if int(n_labeled) == 0:
        return logits.sum() * 0.0
    per_pixel = F.cross_entropy(logits.float(), target.clamp(min=0), reduction="none")
    weight = mask.float()
    if balance:
        weight = weight * balanced_class_weights(target, n_classes)[target.clamp(min=0)]
    if pixel_weight is not None:
        weight = weight * pixel_weight
    return (per_pixel * weight).sum() / n_labeled


def border_weight_map(labels: np.ndarray, object_classes: list[int], w0: float = 10.0,
                      sigma: float = 5.0) -> np.ndarray:
    """The paper's w0 * exp(-(d1 + d2)^2 / (2 sigma^2)): (Y, X) uint8 labels -> (Y, X) float32.

    d1, d2 are the distances to the nearest and second-nearest labeled object, an object being a
    connected region of one of `object_classes`. Large only in the narrow gaps between objects;
    0 where fewer than two objects are near. Distances are computed in a window around each
    object (beyond 4 sigma the weight is negligible), so the cost grows with the objects, not
    the plane.
    """
    labels = np.asarray(labels)
    height, width = labels.shape
    d1 = np.full(labels.shape, np.inf, np.float32)
    d2 = np.full(labels.shape, np.inf, np.float32)
    reach = int(np.ceil(4 * sigma))
    n_objects = 0
    for k in object_classes:
        components, n = ndimage.label(labels == k)
        n_objects += n
        for i, box in enumerate(ndimage.find_objects(components), start=1):
            if box is None:
                continue
            ys = slice(max(0, box[0].start - reach), min(height, box[0].stop + reach))
            xs = slice(max(0, box[1].start - reach), min(width, box[1].stop + reach))
            dist = ndimage.distance_transform_edt(components[ys, xs] != i).astype(np.float32)
            w1, w2 = d1[ys, xs], d2[ys, xs]
            closer = dist < w1
            w2[:] = np.where(closer, w1, np.minimum(w2, dist))
            w1[:] = np.where(closer, dist, w1)
    if n_objects < 2:
        return np.zeros(labels.shape, np.float32)
    total = d1 + d2
    out = w0 * np.exp(-(total * total) / (2 * sigma * sigma))
    return np.where(np.isfinite(total), out, 0).astype(np.float32)


def edge_aware_smoothness(logits: torch.Tensor, images: torch.Tensor, sigma: float = 0.15) -> torch.Tensor:
    """A grid-CRF (Potts) regulariser on every pixel, labeled or not (Tang et al. 2018,
    "On regularized losses for weakly-supervised CNN segmentation"): neighbours of similar
    intensity should get the same class, so region borders settle on image edges instead of
    wherever the scribbles happen to end.

    logits: (N, K, H, W); images: (N, C, H, W) normalised input (same H, W).
    Mean over neighbour pairs (offsets 1 and 2 px, both axes) of
    exp(-|I_i - I_j|^2 / 2 sigma^2) * (1 - p_i . p_j).
    """
    probs = torch.softmax(logits.float(), dim=1)
    images = images.float()
    total = probs.new_zeros(())
    offsets = ((0, 1), (1, 0), (0, 2), (2, 0))
    height, width = probs.shape[-2:]
    for dy, dx in offsets:
        p1, p2 = probs[..., :height - dy, :width - dx], probs[..., dy:, dx:]
        i1, i2 = images[..., :height - dy, :width - dx], images[..., dy:, dx:]
        affinity = torch.exp(-((i1 - i2) ** 2).sum(1) / (2 * sigma * sigma))
        total = total + (affinity * (1 - (p1 * p2).sum(1))).mean()
    return total / len(offsets)


def keep_sure_answers(log_kept: torch.Tensor, logits: torch.Tensor, target: torch.Tensor,
                      sure: float, released: torch.Tensor | None = None) -> torch.Tensor | None:
    """Mean KL(kept || now) over the unlabeled pixels (target IGNORE) where the kept answer was
    sure (its top class has probability >= `sure`) and that are not `released` (N, H, W) bool;
    None where there is no such pixel.

    log_kept: (N, K, H, W) log-probabilities of a soft target, without gradient; logits: (N, K,
    H, W) of the network being trained; target: (N, H, W) as for labeled_cross_entropy."""
    where = (target == IGNORE) & (log_kept.amax(1).exp() >= sure)
    if released is not None:
        where &= ~released
    if not bool(where.any()):
        return None
    log_now = F.log_softmax(logits.float(), 1)
    kl = (log_kept.exp() * (log_kept - log_now)).sum(1)
    return kl[where].mean()
