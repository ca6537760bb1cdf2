"""Shavings: the thin pieces the starting model's boundary (ml/objects.py: the mask's pixels the
object probability puts under SURE) cuts off an object rather than between two objects.

The boundary the starting model sees runs along every nucleus's edge. Between touching nuclei it
parts them. Around an isolated nucleus whose mask spills over its edge (a halo, a brush wider
than the nucleus) it runs inside the mask, and cuts it into the nucleus and a rim, a crescent or
crumbs: two objects or more with their centroids a pixel apart, and a mask that seems to hold
objects half as wide as they are. A piece so cut is
- a shaving: under THIN times as wide (its widest inscribed circle) as the mask's piece it was
  cut from, and under COMPACT times as wide as it is across (its equivalent diameter): thin and
  drawn out. A small nucleus beside a large one is thin next to the clump, but as wide as it is
  across: an object;
- a crumb: across, under CRUMB times the width of the widest piece cut from the same piece.

Where the boundary cuts a piece of the mask into one object and shavings or crumbs, it
parts no two objects there: its shavings and crumbs are not objects, and the object grows into
them as into the boundary (at most GROW diameters). Where it cuts two objects or more, it is read
as it is, and its shavings stay pieces (a thin cell squeezed between touching ones is a shaving
by its shape, and an object).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from unet_studio.ml.label_maxima import label_maxima

THIN = 1 / 3     # a shaving is under this share of the width of the mask's piece it was cut from ...
COMPACT = 0.5    # ... and under this share of its own equivalent diameter (a rim, a crescent)
CRUMB = 0.5      # a crumb is across under this share of the width of the widest piece beside it


def shavings(foreground: np.ndarray, unsure: np.ndarray, z_spacing: float | None = None) -> np.ndarray:
    """The shavings and crumbs (bool, shaped like `foreground`) that a mask's `unsure` pixels
    (those parting objects) cut off its pieces where they leave one object. foreground: a
    mask (Y, X), (..., Y, X) planes, or (Z, Y, X) with z_spacing (one volume)."""
    foreground, unsure = np.asarray(foreground, bool), np.asarray(unsure, bool)
    if foreground.ndim > 2 and z_spacing is None:
        planes = (-1,) + foreground.shape[-2:]
        return np.stack([_shavings(f, u, (1.0, 1.0)) for f, u in
                         zip(foreground.reshape(planes), unsure.reshape(planes))]).reshape(foreground.shape)
    sampling = (float(z_spacing),) + (1.0,) * (foreground.ndim - 1) if z_spacing else (1.0,) * foreground.ndim
    return _shavings(foreground, unsure, sampling)


def _shavings(foreground: np.ndarray, unsure: np.ndarray, sampling: tuple[float, ...]) -> np.ndarray:
    found = np.zeros(foreground.shape, bool)
    if not unsure.any():
        return found
    kept = foreground & ~unsure
    whole, n_whole = ndimage.label(foreground)
    pieces, n = ndimage.label(kept)
    if n == 0:
        return found
    cut_from = label_maxima(whole, pieces, n)[1:].astype(int)  # each piece's piece of the mask
    boxes = ndimage.find_objects(whole)
    for i in np.flatnonzero(np.bincount(cut_from, minlength=n_whole + 1) >= 2):
        box = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in boxes[i - 1])
        shaved = _shaved_off(whole[box] == i, kept[box], pieces[box], sampling)
        if shaved.size:
            found[box] |= np.isin(pieces[box], shaved)
    return found


def _shaved_off(whole: np.ndarray, kept: np.ndarray, pieces: np.ndarray, sampling: tuple[float, ...]) -> np.ndarray:
    """The ids of the shavings and crumbs `kept` leaves of one piece of the mask, `whole` (in
    a box around it), where it leaves one object beside them; none otherwise (two objects or
    more are parted; with none, there is nothing to grow into them)."""
    kept = kept & whole
    pieces = np.where(kept, pieces, 0)
    ids = np.unique(pieces[kept])
    whole_width = 2 * float(ndimage.distance_transform_edt(np.pad(whole, 1), sampling=sampling).max())
    distance = ndimage.distance_transform_edt(np.pad(kept, 1), sampling=sampling)
    width = 2 * np.asarray(ndimage.maximum(distance, np.pad(pieces, 1), ids), float)
    across = _equivalent_diameter(np.asarray(ndimage.sum(kept, pieces, ids), float) * math.prod(sampling), kept.ndim)
    shaved = ((width < THIN * whole_width) & (width < COMPACT * across)) | (across < CRUMB * width.max())
    return ids[shaved] if (~shaved).sum() == 1 else ids[:0]


def _equivalent_diameter(volume: np.ndarray, ndim: int) -> np.ndarray:
    if ndim == 2:
        return np.sqrt(4 * volume / math.pi)
    return np.cbrt(6 * volume / math.pi)
