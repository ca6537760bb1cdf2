"""Shavings: the thin pieces the starting model's boundary (ml/objects.py: the mask's pixels the
object probability puts under SURE) cuts off an object rather than between two objects.

The boundary the starting model sees runs along every nucleus's edge. Between touching nuclei it
parts them; in an isolated nucleus it may run a few pixels inside the edge and cut it into a
core and a rim, or a crescent: two objects with their centroids a pixel apart, and a mask that
seems to hold objects half as wide as they are. Such a piece is a shaving: under THIN times as
wide (its widest inscribed circle) as the mask's piece it was cut from, and under COMPACT times
as wide as it is across (its equivalent diameter): thin and drawn out. A small nucleus beside a
large one is thin next to the clump, but as wide as it is across: an object.

Where the boundary cuts a piece of the mask into pieces of which at most one is not a shaving,
it parts no two objects there, and is not read in that piece. Where two or more are not, it is
read as it is, and its shavings stay pieces (a thin cell squeezed between touching ones is a
shaving by its shape, and an object).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

THIN = 1 / 3     # a shaving is under this share of the width of the mask's piece it was cut from ...
COMPACT = 0.5    # ... and under this share of its own equivalent diameter (a rim, a crescent)


def only_shaved(foreground: np.ndarray, unsure: np.ndarray, z_spacing: float | None = None) -> np.ndarray:
    """The pieces of a mask `foreground` (Y, X), (..., Y, X) planes, or (Z, Y, X) with
    z_spacing (one volume), that its `unsure` pixels (those parting objects) only shave: bool,
    shaped like it."""
    foreground, unsure = np.asarray(foreground, bool), np.asarray(unsure, bool)
    if foreground.ndim > 2 and z_spacing is None:
        planes = (-1,) + foreground.shape[-2:]
        return np.stack([_only_shaved_pieces(f, u, (1.0, 1.0)) for f, u in
                         zip(foreground.reshape(planes), unsure.reshape(planes))]).reshape(foreground.shape)
    sampling = (float(z_spacing),) + (1.0,) * (foreground.ndim - 1) if z_spacing else (1.0,) * foreground.ndim
    return _only_shaved_pieces(foreground, unsure, sampling)


def _only_shaved_pieces(foreground: np.ndarray, unsure: np.ndarray, sampling: tuple[float, ...]) -> np.ndarray:
    if not unsure.any():
        return np.zeros(foreground.shape, bool)
    kept = foreground & ~unsure
    whole, n_whole = ndimage.label(foreground)
    pieces, n = ndimage.label(kept)
    if n == 0:
        return np.zeros(foreground.shape, bool)
    cut_from = np.asarray(ndimage.maximum(whole, pieces, np.arange(1, n + 1)), int)  # each piece's piece of the mask
    shaved = np.zeros(n_whole + 1, bool)
    boxes = ndimage.find_objects(whole)
    for i in np.flatnonzero(np.bincount(cut_from, minlength=n_whole + 1) >= 2):
        box = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in boxes[i - 1])
        shaved[i] = _only_shaved(whole[box] == i, kept[box], pieces[box], sampling)
    return shaved[whole]


def _only_shaved(whole: np.ndarray, kept: np.ndarray, pieces: np.ndarray, sampling: tuple[float, ...]) -> bool:
    """Whether the pieces `kept` leaves of one piece of the mask, `whole` (in a box around it),
    are at most one object and shavings."""
    kept = kept & whole
    pieces = np.where(kept, pieces, 0)
    ids = np.unique(pieces[kept])
    whole_width = 2 * float(ndimage.distance_transform_edt(np.pad(whole, 1), sampling=sampling).max())
    distance = ndimage.distance_transform_edt(np.pad(kept, 1), sampling=sampling)
    width = 2 * np.asarray(ndimage.maximum(distance, np.pad(pieces, 1), ids), float)
    volume = np.asarray(ndimage.sum(kept, pieces, ids), float) * math.prod(sampling)
    shaving = (width < THIN * whole_width) & (width < COMPACT * _equivalent_diameter(volume, kept.ndim))
    return int((~shaving).sum()) <= 1


def _equivalent_diameter(volume: np.ndarray, ndim: int) -> np.ndarray:
    if ndim == 2:
        return np.sqrt(4 * volume / math.pi)
    return np.cbrt(6 * volume / math.pi)
