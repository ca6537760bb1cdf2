"""Small synthetic microscopy-like images for the engine tests: bright blobs on noise."""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def blobs(size: int = 96, n: int = 8, seed: int = 0, radius: tuple[int, int] = (6, 11)) -> tuple[np.ndarray, np.ndarray]:
    """An image (Y, X) uint16 of bright discs on a noisy background, and the truth (Y, X) bool."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    truth = np.zeros((size, size), bool)
    for _ in range(n):
        r = rng.integers(*radius)
        cy, cx = rng.integers(r, size - r, 2)
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    signal = ndimage.gaussian_filter(truth.astype(np.float32), 0.5)
    image = 200 + 600 * signal + rng.normal(0, 60, truth.shape)
    return np.clip(image, 0, 65535).astype(np.uint16), truth


def scribbles(truth: np.ndarray, seed: int = 0, fraction: float = 0.05) -> np.ndarray:
    """Sparse labels (Y, X) uint8 from the truth: 1 = background, 2 = blob, 0 = unlabeled.

    Keeps a random `fraction` of the pixels of eroded regions (strokes away from edges).
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros(truth.shape, np.uint8)
    inside = ndimage.binary_erosion(truth, iterations=2)
    outside = ndimage.binary_erosion(~truth, iterations=2)
    keep = rng.random(truth.shape) < fraction
    # Thicken the random picks into short blobs, like brush strokes.
    keep = ndimage.binary_dilation(keep, iterations=1)
    labels[keep & outside] = 1
    labels[keep & inside] = 2
    return labels


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0
