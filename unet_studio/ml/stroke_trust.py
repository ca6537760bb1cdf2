"""How much each painted pixel is trusted: a stroke's centre more than its edges, and its edges
less again where they look unlike its centre.

People paint with a brush wider than what they paint: a membrane 3 px wide gets a stroke of
8-10 px, drawn across it and a little off-centre, and a background stroke spills over the
edge of the cell it fills. The centre of a stroke is where the hand aimed; its edges are where
the brush spilled over onto something else. Trusted alike, the spilled pixels teach that the
structure is as wide as the brush (membranes come out far too thick).

So a painted pixel counts (depth / (half-width - AIM)) ** power, at most 1, where depth is its
distance from the nearest pixel not painted its class (1 at the edge) and half-width the
deepest point of the stroke near it (within `REACH` px, and at most `REACH`): the centre line
of a stroke and the pixels `AIM` either side of it count fully, its edges less, whatever the
brush. A stroke up to 3 px wide is all centre and counts fully everywhere; so does the inside
of a filled region more than `REACH` - `AIM` px from its edge.

Where the brush spilled over, it mostly spilled onto something that looks different: the dark
background around a bright nucleus painted across, the pale cytoplasm beside a membrane. Given
the normalised image and a `looks` scale, a pixel trusted less than fully counts
exp(-d² / 2 looks²) of that again, d the distance of its intensity (over the channels) from the
mean of the fully trusted pixels of its class within REACH px: the pixels where the hand aimed
nearby. Spilled pixels that look like the aimed ones keep their trust; the centre is untouched.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

# How far from a stroke's edge its centre line is looked for: brushes up to about twice this
# wide are trusted from edge to centre; wider fills have REACH - AIM pixels of edge. The pixels
# a stroke's edge is compared with (`looks`) lie within this distance too.
REACH = 8
# How far from the centre line a hand aims: pixels this close to it count fully, so a stroke up
# to 3 px wide is all centre.
AIM = 1
# A pixel trusted this much is where the hand aimed (the formula's 1, with rounding).
AIMED = 0.999


def stroke_trust(labels: np.ndarray, power: float, image: np.ndarray | None = None,
                 looks: float = 0.0) -> np.ndarray:
    """(Y, X) labels (0 unpainted, 1..K) -> (Y, X) float32: the weight of each painted pixel
    in (0, 1]; 0 where unpainted. power 0: every painted pixel 1. image: the plane (C, Y, X)
    normalised, for `looks` (0 or no image: a stroke's edges are not compared with its centre)."""
    labels = np.asarray(labels)
    painted = labels > 0
    trust = painted.astype(np.float32)
    if power <= 0 or not painted.any():
        return trust
    height, width = labels.shape
    for k in np.unique(labels[painted]):
        ys, xs = (np.flatnonzero(np.any(labels == k, axis=a)) for a in (1, 0))
        box = (slice(max(0, ys[0] - REACH), min(height, ys[-1] + REACH + 1)),
               slice(max(0, xs[0] - REACH), min(width, xs[-1] + REACH + 1)))
        stroke = labels[box] == k
        if stroke.all():   # painted over all of the plane: no edge to distrust
            continue
        # The plane's border is not an edge: a stroke runs on beyond it.
        depth = ndimage.distance_transform_edt(stroke).astype(np.float32)
        half_width = np.minimum(ndimage.maximum_filter(depth, size=2 * REACH + 1), REACH)
        part = np.zeros(stroke.shape, np.float32)
        part[stroke] = np.minimum(depth[stroke] / np.maximum(half_width[stroke] - AIM, 1), 1.0) ** power
        if looks > 0 and image is not None:
            part *= _alike(np.asarray(image)[(slice(None),) + box], part, stroke, looks)
        trust[box][stroke] = part[stroke]
    return trust


def _alike(image: np.ndarray, part: np.ndarray, stroke: np.ndarray, looks: float) -> np.ndarray:
    """How alike each edge pixel of a stroke (trusted less than fully) looks to the fully trusted
    pixels of the stroke within REACH px: exp(-d² / 2 looks²), d the distance of its intensity
    from their mean; 1 elsewhere. Computed in a box reaching REACH past the stroke, so the
    means are those of the whole plane."""
    aimed = (part >= AIMED).astype(np.float32)
    edge = stroke & (part < AIMED)
    alike = np.ones(stroke.shape, np.float32)
    if not edge.any() or not aimed.any():
        return alike
    size = 2 * REACH + 1
    near = ndimage.uniform_filter(aimed, size)
    edge &= near > 1e-6    # an edge with no fully trusted pixel near it has nothing to look like
    distance = np.zeros(stroke.shape, np.float32)
    for channel in image.astype(np.float32, copy=False):
        mean = ndimage.uniform_filter(aimed * channel, size) / np.maximum(near, 1e-6)
        distance += (channel - mean) ** 2
    alike[edge] = np.exp(-0.5 * distance[edge] / looks ** 2)
    return alike


def updated_trust(trust: np.ndarray, before: np.ndarray, now: np.ndarray, power: float,
                  image: np.ndarray | None = None, looks: float = 0.0) -> np.ndarray:
    """`trust` = stroke_trust(before, power, image, looks), made stroke_trust(now, power, image,
    looks) in place: recomputed only around the pixels whose label changed (the strokes painted
    or erased since). A pixel's trust reads the labels within 2 * REACH + 1 px of it (3 * REACH
    + 1 where its edges are compared with the centre pixels within REACH of them), so the window
    around the changes grows by that, and is computed with as much context again. The whole of
    a 2048² plane takes over half a second, and while the user paints the labels change every
    half second."""
    changed = np.asarray(before) != np.asarray(now)
    if not changed.any():
        return trust
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    compared = looks > 0 and image is not None
    grow = (3 if compared else 2) * REACH + 2
    height, width = trust.shape

    def around(first: int, last: int, size: int, by: int) -> slice:
        return slice(max(0, first - by), min(size, last + by + 1))

    inner = (around(rows[0], rows[-1], height, grow), around(cols[0], cols[-1], width, grow))
    outer = (around(inner[0].start, inner[0].stop - 1, height, grow),
             around(inner[1].start, inner[1].stop - 1, width, grow))
    window = np.asarray(image)[(slice(None),) + outer] if compared else None
    part = stroke_trust(np.asarray(now)[outer], power, window, looks)
    offset = (inner[0].start - outer[0].start, inner[1].start - outer[1].start)
    trust[inner] = part[offset[0]:offset[0] + inner[0].stop - inner[0].start,
                        offset[1]:offset[1] + inner[1].stop - inner[1].start]
    return trust
