"""Synthetic electron-microscopy sections for the starting model.

`synthetic.membranes` draws clean cell outlines; real EM sections (serial-section TEM of
neural tissue, the commonest kind a user brings) are harder in ways a model must have seen
to fine-tune fast: cell profiles of very different sizes in one field, grainy cytoplasm,
membranes whose thickness and darkness vary along their length, and many dark outlines that
are *not* cell membranes: mitochondria (a dark double rim with striped cristae inside),
vesicles (small rings), dense dark spots. Those are all labeled interior here, so the model
learns that a closed dark outline inside a cell is an organelle.

Returns (image (Y, X) float32, target (Y, X) uint8) with the starting model's classes:
1 = background (unused here), 2 = cell interior, 3 = membrane.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.measure import label
from skimage.segmentation import find_boundaries

from synthetic import BOUNDARY, INTERIOR, finish, smooth_noise


def em_section(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    cells = _cell_profiles(size, rng)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    # Membranes: thickness and darkness drift along their length; thicker at junctions.
    edge = find_boundaries(cells, mode="inner")
    dist = ndimage.distance_transform_edt(~edge).astype(np.float32)
    base = rng.uniform(1.5, 6.0)
    thickness = base * np.clip(1 + 0.35 * smooth_noise((size, size), 12, rng), 0.4, 2.0)
    membrane = dist < thickness / 2
    # Junctions (3+ cells meet) look like small dark triangles in EM.
    junction = _where_three_cells_meet(cells)
    membrane |= ndimage.distance_transform_edt(~junction) < base * rng.uniform(0.6, 1.2)

    n = int(cells.max()) + 1
    level = rng.uniform(0.55, 0.8) + rng.uniform(0.02, 0.1) * rng.standard_normal(n)
    dark_cells = rng.random(n) < rng.uniform(0, 0.25)   # glia, dense axoplasm
    level = np.where(dark_cells, level - rng.uniform(0.12, 0.3), level)
    image = level[cells]
    grain = rng.uniform(0.05, 0.18) * smooth_noise((size, size), rng.uniform(0.6, 1.4), rng)
    mottle = rng.uniform(0.0, 0.08) * smooth_noise((size, size), rng.uniform(3, 7), rng)
    image = image + grain + mottle

    interior = ~membrane
    image = _mitochondria(image, cells, interior, size, rng, yy, xx)
    image = _vesicles(image, interior, size, rng)
    spots = (smooth_noise((size, size), 1.5, rng) > rng.uniform(2.6, 3.6)) & interior
    image = image - rng.uniform(0.1, 0.35) * spots

    contrast = rng.uniform(0.25, 0.55) * np.clip(1 + 0.3 * smooth_noise((size, size), 15, rng), 0.3, 1.6)
    # Soft membrane profile: darkest on the midline, fading to the label's edge.
    profile = np.clip(1.2 - dist / np.maximum(thickness / 2, 0.5) * 0.5, 0, 1) * membrane
    image = image - contrast * np.maximum(profile, 0.6 * membrane)
    target = np.where(membrane, BOUNDARY, INTERIOR).astype(np.uint8)
    return finish(image.astype(np.float32), rng), target


def _cell_profiles(size: int, rng: np.random.Generator) -> np.ndarray:
    """(Y, X) int labels 1..n: a multiplicatively weighted Voronoi diagram (curved borders,
    profiles from ~10 to ~150 px across in one field), bent by a smooth warp."""
    mean_d = rng.uniform(25, 70)
    n = max(6, int(size * size / mean_d ** 2 * 1.3))
    seeds = rng.uniform(-10, size + 10, (n, 2)).astype(np.float32)
    scale = np.exp(rng.normal(0, rng.uniform(0.2, 0.6), n)).astype(np.float32)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    warp = rng.uniform(0, 0.25) * mean_d
    wy = yy + warp * smooth_noise((size, size), mean_d / 3, rng)
    wx = xx + warp * smooth_noise((size, size), mean_d / 3, rng)
    best = np.full((size, size), np.inf, np.float32)
    cells = np.zeros((size, size), np.int32)
    for i, ((sy, sx), s) in enumerate(zip(seeds, scale)):
        d = np.hypot(wy - sy, wx - sx) / s
        closer = d < best
        best[closer], cells[closer] = d[closer], i + 1
    return _number_each_piece(cells)


def _number_each_piece(cells: np.ndarray) -> np.ndarray:
    """A weighted diagram can split one cell into pieces; number each piece (4-connected) on
    its own: 1..n ordered by cell, then by each piece's first pixel in raster order (the
    numbering the shipped weights' images were drawn with, one `ndimage.label` per cell)."""
    pieces = label(cells, background=0, connectivity=1)
    n = int(pieces.max())
    first = ndimage.minimum(np.arange(cells.size).reshape(cells.shape), pieces, np.arange(1, n + 1))
    first = np.asarray(first, np.int64)
    order = np.lexsort((first, cells.ravel()[first]))
    number = np.zeros(n + 1, cells.dtype)
    number[order + 1] = np.arange(1, n + 1, dtype=cells.dtype)
    return number[pieces]


def _where_three_cells_meet(cells: np.ndarray) -> np.ndarray:
    """True where the 3 x 3 window (mirrored at the edges) holds 3 or more cells: one holds a
    value strictly between the window's smallest and largest."""
    padded = np.pad(cells, 1, mode="symmetric")
    h, w = cells.shape
    views = [padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)]
    low, high = np.minimum.reduce(views), np.maximum.reduce(views)
    return np.logical_or.reduce([(v > low) & (v < high) for v in views])


def _mitochondria(image, cells, interior, size, rng, yy, xx):
    """Darker ellipses with a dark double rim and cristae stripes across them."""
    for _ in range(int(rng.integers(1, 3 + size * size // 6000))):
        cy, cx = rng.uniform(0, size, 2)
        a, b = rng.uniform(6, 28), rng.uniform(3.5, 9)
        theta = rng.uniform(0, np.pi)
        dy, dx = yy - cy, xx - cx
        u = dy * np.cos(theta) + dx * np.sin(theta)
        v = -dy * np.sin(theta) + dx * np.cos(theta)
        r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        host = cells[int(np.clip(cy, 0, size - 1)), int(np.clip(cx, 0, size - 1))]
        inside = (r <= 1) & (cells == host) & interior
        inside = ndimage.binary_erosion(inside, iterations=2)
        if inside.sum() < 20:
            continue
        rim = inside & ~ndimage.binary_erosion(inside, iterations=int(rng.integers(1, 3)))
        period = rng.uniform(3, 7)
        cristae = (np.sin(2 * np.pi * (u + rng.uniform(0, 3) * np.sin(v / 3)) / period) > 0.4) & inside
        image = image - rng.uniform(0.08, 0.25) * inside - rng.uniform(0.15, 0.4) * rim \
            - rng.uniform(0.05, 0.25) * cristae
    return image


def _vesicles(image, interior, size, rng):
    """Clusters of small rings (synaptic vesicles) and a few larger pale ones with a rim."""
    for _ in range(int(rng.integers(0, 5))):
        cy, cx = rng.uniform(0, size, 2)
        spread = rng.uniform(5, 20)
        rings = np.zeros((size, size), bool)
        for _ in range(int(rng.integers(3, 30))):
            y, x = rng.normal(cy, spread), rng.normal(cx, spread)
            r = rng.uniform(1.5, 4.5)
            y0, y1 = int(max(0, y - r - 2)), int(min(size, y + r + 3))
            x0, x1 = int(max(0, x - r - 2)), int(min(size, x + r + 3))
            if y0 >= y1 or x0 >= x1:
                continue
            gy, gx = np.mgrid[y0:y1, x0:x1]
            d = np.hypot(gy - y, gx - x)
            rings[y0:y1, x0:x1] |= np.abs(d - r) < 0.7
        image = image - rng.uniform(0.1, 0.3) * (rings & interior)
    return image
