"""The pieces of a class's mask that no object holds although they are as large as one: the
network predicted the class there, but less surely than on the plane's surest objects (a dark
nucleus, a fold, a smear; ml/objects.py drops them), or they are what is left of a piece whose
objects it kept. Shown apart, they tell the user where the count and the mask differ, and where
painting teaches the network what it hesitates over. Specks smaller than an object is ever
kept (SPECK diameters) are not among them.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from unet_studio.ml.objects import SPECK, object_volume


def uncounted_pieces(foreground: np.ndarray, labels: np.ndarray, object_size: float | None,
                     z_spacing: float | None = None) -> tuple[np.ndarray, int]:
    """((Y, X) bool, how many): the connected pieces of `foreground` (the class's mask) outside
    every object of `labels` whose area is at least that of a disc SPECK * `object_size` px
    across (none where there is no size: nothing was split). With z_spacing (Z, Y, X): the
    pieces in 3-D, at least a ball's volume, as 3-D objects are found (ml/objects.py)."""
    foreground = np.asarray(foreground, bool)
    left = foreground & (np.asarray(labels) == 0)
    if object_size is None or not left.any():
        return np.zeros(foreground.shape, bool), 0
    pieces, _ = ndimage.label(left)
    ndim = 3 if z_spacing is not None else 2
    large = np.bincount(pieces.ravel()) >= object_volume(SPECK * float(object_size), ndim, z_spacing)
    large[0] = False
    return large[pieces], int(large.sum())
