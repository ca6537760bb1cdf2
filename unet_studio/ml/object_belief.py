"""Whether the network believes an object: the judgments of ml/objects.py on the object class's
probability, measured against SURE, the probability at which the network is unsure.

- an island smaller than an object whose mean probability stands KEPT of the way from SURE to 1
  is an object all the same (`sure_islands`): the network is sure of it;
- an object whose mean probability stands less than CORE as far above SURE as the plane's
  surest objects' does is dropped (`drop_unsure`): a darker patch of cytoplasm, a fold.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

SURE = 0.5       # object probability at which the network is unsure (the mask's edge)
KEPT = 0.8       # an island under SPECK * d whose mean probability stands this share of the way
                 # from SURE to 1 (0.9) is an object all the same: the network is sure of it
CORE = 0.5       # an object's mean probability must stand this share as far above SURE as the
                 # plane's surest objects' (0.7 when theirs is 0.9)


def sure_islands(mask: np.ndarray, probability: np.ndarray | None, smallest: float) -> np.ndarray | None:
    """The pixels of the mask in islands of the class (its probability over SURE, not pieces
    the kept boundary cut off a larger one) under `smallest` px whose mean `probability` stands
    KEPT of the way from SURE to 1 (None without a probability, or where there are none)."""
    if probability is None:
        return None
    pieces, n = ndimage.label(probability >= SURE)
    if n == 0:
        return None
    mean, present = object_means(pieces, probability)
    area = np.bincount(pieces.ravel(), minlength=n + 1)[1:]
    sure = np.concatenate([[False], present & (area < smallest) & (mean >= SURE + KEPT * (1 - SURE))])
    return sure[pieces] & mask if sure.any() else None


def object_means(labels: np.ndarray, probability: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ids 1..n of `labels`: each object's mean probability, and whether it is present."""
    n = int(labels.max())
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    mean = np.bincount(labels.ravel(), weights=probability.ravel(), minlength=n + 1)[1:] / np.maximum(area, 1)
    return mean, area > 0


def drop_unsure(labels: np.ndarray, probability: np.ndarray, surest: float | None = None) -> np.ndarray:
    """`labels` without the objects believed far less than the surest ones (CORE); `surest`:
    their mean probability (None: measured on these objects, when there are two or more)."""
    n = int(labels.max())
    if n < 1 or (surest is None and n < 2):
        return labels
    mean, present = object_means(labels, probability)
    if surest is None:
        surest = float(np.percentile(mean[present], 90))
    unsure = np.concatenate([[False], (mean - SURE) < CORE * (surest - SURE)])
    return np.where(unsure[labels], 0, labels)
