"""The h-maxima of a height map that is 0 between objects, found piece by piece.

scikit-image's h_maxima reconstructs the whole image at once, and the reconstruction sorts
every pixel (twice over twice its size): on a 1024² plane most of the object split's time,
though the heights are 0 on much of it. The answer is the same found in each piece where the
height is above 0, in a box around it:

- the reconstruction by dilation of (height - h) under the height follows 8-connected paths
  (the full 3x3 footprint) and takes the lowest height along each; a path that leaves a piece
  passes a pixel of height 0, so nothing from outside a piece raises its reconstruction above 0;
- where some piece stands h above 0, its top's value reaches every pixel of the image at 0 or
  more (the heights are never negative), so every piece's reconstruction is at least 0: a piece
  that stands that high gets the same answer in its box (whose rim of 0 reaches 0 from its top)
  as in the whole image, whatever else lies in the box; a lower one's reconstruction is 0
  throughout, so its maxima are the pixels at least h high (the h-maxima test: height -
  reconstruction >= h).
Where no piece stands that high, or a height is negative, the whole image is left to scikit-image.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from unet_studio.ml.label_maxima import label_maxima


def h_maxima(height: np.ndarray, h: float) -> np.ndarray:
    """skimage.morphology.h_maxima(height, h): uint8, 1 at the maxima that stand at least h
    high, for a float height map (fastest where much of it is 0)."""
    from skimage.morphology import h_maxima as whole_h_maxima

    height = np.asarray(height)
    if not height.size or h > np.ptp(height):   # scikit-image's own shortcut, also where nothing is 0
        return np.zeros(height.shape, np.uint8)
    if height.min() < 0:
        return whole_h_maxima(height, h)
    pieces, n = ndimage.label(height > 0, structure=np.ones((3,) * height.ndim))
    if n == 0:
        return np.zeros(height.shape, np.uint8)
    seed = height - h - 2 * np.finfo(height.dtype).resolution * np.abs(height)   # skimage's, exactly
    stands = label_maxima(seed, pieces, n) >= 0
    if not stands[1:].any():
        return whole_h_maxima(height, h)
    out = np.asarray(height >= h, np.uint8)     # the lower pieces' maxima; the others' are replaced
    rim = ((1, 1),) * height.ndim               # every box gets a rim of 0 inside the padded image
    height, pieces, out = np.pad(height, rim), np.pad(pieces, rim), np.pad(out, rim)
    for i, box in enumerate(ndimage.find_objects(pieces), start=1):
        if box is None or not stands[i]:
            continue
        box = tuple(slice(s.start - 1, s.stop + 1) for s in box)
        inside = pieces[box] == i
        out[box][inside] = whole_h_maxima(height[box], h)[inside]
    return out[(slice(1, -1),) * height.ndim]
