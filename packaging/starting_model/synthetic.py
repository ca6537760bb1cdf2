"""Synthetic training images for the starting model: cell membranes and blobs.

The DSB2018 pool has nuclei only (round bright or dark objects). A user's first image may
instead show thin curvilinear structures (membranes in EM, cell outlines in fluorescence),
so the starting model also sees generated images of those, in both polarities, with the
distractors real images have (textured interiors, dark organelles that are not membranes,
uneven illumination, blur, noise).

Every generator returns (image (Y, X) float32, target (Y, X) uint8) with the starting
model's classes: 1 = background, 2 = object interior, 3 = object boundary / membrane.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.segmentation import find_boundaries

BACKGROUND, INTERIOR, BOUNDARY = 1, 2, 3


def smooth_noise(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """(Y, X) float32 noise with features about `scale` px wide, zero mean, unit std."""
    noise = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), scale)
    return (noise - noise.mean()) / max(float(noise.std()), 1e-6)


def finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Optics and camera: blur, uneven illumination, noise (Gaussian and shot-like)."""
    shape = image.shape
    image = ndimage.gaussian_filter(image, rng.uniform(0.3, 1.8))
    image = image * (1 + rng.uniform(0, 0.4) * smooth_noise(shape, shape[0] / 4, rng))
    image = image + rng.uniform(0, 0.3) * smooth_noise(shape, shape[0] / 6, rng)
    shot = rng.uniform(0, 0.08) * np.sqrt(np.clip(image, 0, None)) * rng.standard_normal(shape)
    image = image + shot + rng.uniform(0.01, 0.12) * rng.standard_normal(shape)
    return image.astype(np.float32)


def membranes(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cells tiling the plane (a warped Voronoi diagram) separated by membranes 1-6 px thick.

    Membranes are dark on a brighter textured background (EM-like) or bright on dark
    (membrane stain). Inside the cells: texture and dark or bright organelles that are
    labeled interior, so the model learns that a dark blob is not a membrane.
    """
    diameter = rng.uniform(18, 110)
    n_cells = max(4, int(size * size / (diameter * diameter)))
    seeds = rng.uniform(0, size, (n_cells, 2))
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    # Warping the coordinates bends the straight Voronoi edges into wavy membranes.
    warp = rng.uniform(0, 0.35) * diameter
    wy = yy + warp * smooth_noise((size, size), diameter / 3, rng)
    wx = xx + warp * smooth_noise((size, size), diameter / 3, rng)
    from scipy.spatial import cKDTree
    _, cells = cKDTree(seeds).query(np.stack([wy.ravel(), wx.ravel()], 1))
    cells = cells.reshape(size, size) + 1
    thickness = rng.uniform(1, 6)
    edge = find_boundaries(cells, mode="inner")
    membrane = ndimage.distance_transform_edt(~edge) < thickness / 2
    # Some membranes fade out (gaps), as in real EM sections.
    fade = smooth_noise((size, size), diameter / 2, rng) > rng.uniform(1.2, 3.0)

    cell_level = rng.uniform(0.45, 0.75) + rng.uniform(0, 0.12) * rng.standard_normal(cells.max() + 1)
    image = cell_level[cells] + rng.uniform(0, 0.12) * smooth_noise((size, size), rng.uniform(1, 4), rng)
    organelles = _organelles(size, diameter, rng)
    image = np.where(organelles, image - rng.uniform(0.2, 0.45), image)
    contrast = rng.uniform(0.25, 0.6)
    strength = np.where(fade, rng.uniform(0.1, 0.5), 1.0)
    image = image - contrast * strength * membrane
    if rng.random() < 0.35:  # fluorescent membrane stain: bright outlines on dark
        image = 1.0 - image
    target = np.where(membrane, BOUNDARY, INTERIOR).astype(np.uint8)
    return finish(image.astype(np.float32), rng), target


def _organelles(size: int, diameter: float, rng: np.random.Generator) -> np.ndarray:
    """(Y, X) bool: a few small dark ellipses (mitochondria, vesicles)."""
    mask = np.zeros((size, size), bool)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(int(rng.integers(0, 2 + size * size // int(diameter * diameter * 2 + 1)))):
        cy, cx = rng.uniform(0, size, 2)
        a, b = rng.uniform(2, max(3, diameter / 5), 2)
        theta = rng.uniform(0, np.pi)
        dy, dx = yy - cy, xx - cx
        u = dy * np.cos(theta) + dx * np.sin(theta)
        v = -dy * np.sin(theta) + dx * np.cos(theta)
        mask |= (u / a) ** 2 + (v / b) ** 2 <= 1
    return mask


def blobs(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Nucleus-like ellipses of varied size, brightness and texture, some touching.

    Bright on dark (fluorescence) or dark on bright (stained tissue, brightfield).
    """
    radius = rng.uniform(3, 28)
    n = int(rng.integers(3, 6 + int(0.35 * size * size / (np.pi * radius * radius))))
    instances = np.zeros((size, size), np.int32)
    yy, xx = np.mgrid[:size, :size]
    levels = [0.0]
    for i in range(1, n + 1):
        cy, cx = rng.uniform(0, size, 2)
        r = radius * rng.uniform(0.6, 1.4)
        a, b = r * rng.uniform(0.7, 1.0), r * rng.uniform(1.0, 1.5)
        theta = rng.uniform(0, np.pi)
        dy, dx = yy - cy, xx - cx
        u = dy * np.cos(theta) + dx * np.sin(theta)
        v = -dy * np.sin(theta) + dx * np.cos(theta)
        wobble = 1 + 0.1 * np.sin(rng.integers(2, 6) * np.arctan2(v, u) + rng.uniform(0, 6.3))
        inside = (u / a) ** 2 + (v / b) ** 2 <= wobble ** 2
        instances[inside & (rng.random() < 0.8 or instances == 0)] = i
        levels.append(rng.uniform(0.25, 1.0))
    levels = np.asarray(levels, np.float32)
    image = levels[instances]
    texture = rng.uniform(0, 0.25) * smooth_noise((size, size), rng.uniform(0.8, 3), rng)
    image = image + texture * (instances > 0)
    # Touching nuclei are often a little dimmer where they meet.
    image = image - rng.uniform(0, 0.3) * find_boundaries(instances, mode="inner")
    image = image + rng.uniform(0.0, 0.15)
    if rng.random() < 0.3:
        image = 1.0 - image
    target = instance_target(instances)
    return finish(image.astype(np.float32), rng), target


def instance_target(instances: np.ndarray) -> np.ndarray:
    """Instance labels (Y, X) int (0 = background) -> (Y, X) uint8 classes: background,
    interior, boundary (each object's inner border, so touching objects are 2 px apart)."""
    target = np.full(instances.shape, BACKGROUND, np.uint8)
    target[instances > 0] = INTERIOR
    target[find_boundaries(instances, mode="inner") & (instances > 0)] = BOUNDARY
    return target
