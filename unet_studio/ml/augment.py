"""Batch augmentation in torch: the paper's elastic deformation and intensity jitter.

Flips and 90-degree rotations are done while cropping (ml/data.py). Here, on the whole batch
at once (on the training device): a random displacement field on a coarse grid, smoothly
upsampled (bicubic) and applied with grid_sample, as in Ronneberger et al. 2015 (there:
3x3 grid, 10 px standard deviation, for 572 px tiles); then per-patch contrast, brightness
and gamma changes, so the network does not learn one exact intensity profile.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F


def elastic_deform(images: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None,
                   generator: torch.Generator, grid: int = 4, strength: float = 0.06,
                   probability: float = 0.7):
    """Deform each patch of a batch by a smooth random field (same field for its labels).

    images: (B, C, H, W) float; labels: (B, H, W) uint8/int; weights: (B, H, W) float or None.
    strength: displacement standard deviation as a fraction of the patch side (0.06 of 128 px
    ~ 8 px, close to the paper's 10 px on 572 px tiles with a 3x3 grid). Patches not drawn with
    `probability` are left undeformed. Returns the same three (labels stay integer: nearest).
    """
    batch, _, height, width = images.shape
    device = images.device
    shifts = torch.randn((batch, 2, grid, grid), generator=generator) * (2 * strength)
    keep = torch.rand((batch, 1, 1, 1), generator=generator) < probability
    shifts = (shifts * keep).to(device)
    field = F.interpolate(shifts, size=(height, width), mode="bicubic", align_corners=True)
    ys = torch.linspace(-1, 1, height, device=device)
    xs = torch.linspace(-1, 1, width, device=device)
    base_y, base_x = torch.meshgrid(ys, xs, indexing="ij")
    sample = torch.stack([base_x + field[:, 0], base_y + field[:, 1]], dim=-1)  # (B, H, W, 2) as (x, y)
    images = F.grid_sample(images, sample, mode="bilinear", padding_mode="reflection", align_corners=True)
    # Labels and weights: nearest neighbour, and outside the patch they become "unlabeled".
    labels = F.grid_sample(labels[:, None].float(), sample, mode="nearest", padding_mode="zeros",
                           align_corners=True)[:, 0].round().to(labels.dtype)
    if weights is not None:
        weights = F.grid_sample(weights[:, None], sample, mode="nearest", padding_mode="zeros",
                                align_corners=True)[:, 0]
    return images, labels, weights


def jitter_intensity(images: torch.Tensor, generator: torch.Generator, contrast: float = 0.25,
                     brightness: float = 0.1, gamma: float = 0.3) -> torch.Tensor:
    """Random per-patch, per-channel contrast (x in [1/(1+c), 1+c]), brightness shift and gamma.

    images: (B, C, H, W), normalised so the data lie mostly in [0, 1]. Gamma acts on the
    positive part only (values below the low percentile stay linear).
    """
    batch, channels = images.shape[:2]
    shape = (batch, channels, 1, 1)
    log_c = torch.log1p(torch.tensor(contrast))
    scale = torch.exp((torch.rand(shape, generator=generator) * 2 - 1) * log_c).to(images.device)
    shift = (torch.randn(shape, generator=generator) * brightness).to(images.device)
    g = torch.exp((torch.rand(shape, generator=generator) * 2 - 1) * gamma).to(images.device)
    positive = images.clamp(min=0)
    images = torch.where(images > 0, positive.pow(g), images)
    return images * scale + shift
