"""Pieces joined into objects (ml/objects.py): watershed regions across a seam too shallow to
part them, and the objects of each slice across slices. Both join by a union-find over the
pieces' ids."""
from __future__ import annotations

import numpy as np

from unet_studio.ml.label_maxima import label_maxima


class _Joins:
    """Which of the ids 0..n-1 are one object (union-find with path halving)."""

    def __init__(self, n: int):
        self.parent = np.arange(n)

    def root(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    def join(self, keep: int, other: int) -> None:
        """`other`'s object becomes part of `keep`'s (both roots)."""
        self.parent[other] = keep

    def roots(self) -> np.ndarray:
        return np.array([self.root(i) for i in range(len(self.parent))])


def joined_where_shallow(labels: np.ndarray, height: np.ndarray, h: float) -> np.ndarray:
    """`labels` (watershed regions of `height`) with the regions whose seam to a neighbour lies
    less than h below the lower of their two tops joined: every region then stands h above the
    seam to its neighbours, as its seed should. skimage's h_maxima keeps both of two tops of
    equal height (to the last bits of a float) however shallow the seam between them: a
    peanut-shaped nucleus, an organelle with two equally wide places, parted in two.

    Seams are taken from the highest down, as h-maxima are: each joined region keeps the higher
    top. A seam's height is the lower of two touching pixels of the two regions."""
    n = int(labels.max())
    if n < 2:
        return labels
    top = label_maxima(height, labels, n)
    first, second, seam = [], [], []
    for axis in range(labels.ndim):
        before = (slice(None),) * axis + (slice(None, -1),)    # views: no copy of a plane or volume
        after = (slice(None),) * axis + (slice(1, None),)
        a, b = labels[before], labels[after]
        touching = a != b
        touching &= a > 0
        touching &= b > 0
        where = np.nonzero(touching)
        del touching
        if not where[0].size:
            continue
        ha, hb = height[before][where], height[after][where]
        la, lb = a[where], b[where]
        first.append(np.minimum(la, lb))
        second.append(np.maximum(la, lb))
        seam.append(np.minimum(ha, hb))
    if not first:
        return labels
    first, second, seam = np.concatenate(first), np.concatenate(second), np.concatenate(seam)
    order = np.lexsort((-seam, second, first))            # each pair's highest seam first
    pair = first[order].astype(np.int64) * (n + 1) + second[order]
    highest = order[np.r_[True, pair[1:] != pair[:-1]]]
    joins = _Joins(n + 1)
    for k in highest[np.argsort(-seam[highest], kind="stable")]:
        a, b = joins.root(int(first[k])), joins.root(int(second[k]))
        if a != b and min(top[a], top[b]) - seam[k] < h:
            joins.join(a, b)
            top[a] = max(top[a], top[b])
    return joins.roots()[labels].astype(labels.dtype)


def linked_across_slices(slices: np.ndarray, share: float) -> np.ndarray:
    """(Z, Y, X) objects numbered slice by slice -> int32, one id per object across slices: a
    piece joins the piece of the next slice it overlaps most where that one overlaps it most
    too, and their overlap covers at least `share` of the smaller (as cells between EM
    membranes are followed from section to section)."""
    from skimage.segmentation import relabel_sequential

    slices = np.asarray(slices)
    counts = [int(s.max()) for s in slices]
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ids = np.where(slices > 0, slices + offsets[:, None, None], 0).astype(np.int64)
    n = int(sum(counts)) + 1
    joins = _Joins(n)
    area = np.bincount(ids.ravel(), minlength=n)
    for z in range(len(slices) - 1):
        a, b = ids[z], ids[z + 1]
        both = (a > 0) & (b > 0)
        if not both.any():
            continue
        pairs, overlap = np.unique(a[both] * n + b[both], return_counts=True)
        first, second = pairs // n, pairs % n
        i, j, k = _best(first, second, overlap)              # each piece of slice z: its best in z + 1
        back_j, back_i, _ = _best(second, first, overlap)    # each piece of z + 1: its best in z
        linked = (back_i[np.searchsorted(back_j, j)] == i) & (k >= share * np.minimum(area[i], area[j]))
        for keep, other in zip(i[linked].tolist(), j[linked].tolist()):
            joins.join(joins.root(keep), joins.root(other))
    return relabel_sequential(joins.roots()[ids])[0].astype(np.int32)


def _best(key: np.ndarray, other: np.ndarray, overlap: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each value of `key` (sorted ascending): the `other` it overlaps most (the first of
    equals, as the pairs are sorted), and that overlap."""
    order = np.lexsort((-overlap, key))
    first_of_each = np.r_[True, key[order][1:] != key[order][:-1]]
    chosen = order[first_of_each]
    return key[chosen], other[chosen], overlap[chosen]
