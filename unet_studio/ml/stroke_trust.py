"""How much each painted pixel is trusted: a stroke's centre more than its edges.

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
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

# How far from a stroke's edge its centre line is looked for: brushes up to about twice this
# wide are trusted from edge to centre; wider fills have REACH - AIM pixels of edge.
REACH = 8
# How far from the centre line a hand aims: pixels this close to it count fully, so a stroke up
# to 3 px wide is all centre.
AIM = 1


def stroke_trust(labels: np.ndarray, power: float) -> np.ndarray:
    """(Y, X) labels (0 unpainted, 1..K) -> (Y, X) float32: the weight of each painted pixel
    in (0, 1]; 0 where unpainted. power 0: every painted pixel 1."""
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
        trust[box][stroke] = np.minimum(depth[stroke] / np.maximum(half_width[stroke] - AIM, 1), 1.0) ** power
    return trust


def updated_trust(trust: np.ndarray, before: np.ndarray, now: np.ndarray, power: float) -> np.ndarray:
    """`trust` = stroke_trust(before, power), made stroke_trust(now, power) in place: recomputed
    only around the pixels whose label changed (the strokes painted or erased since). A pixel's
    trust reads the labels within 2 * REACH + 1 px of it, so the window around the changes
    grows by that, and is computed with as much context again. The whole of a 2048² plane
    takes over half a second, and while the user paints the labels change every half second."""
    changed = np.asarray(before) != np.asarray(now)
    if not changed.any():
        return trust
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    grow = 2 * REACH + 2
    height, width = trust.shape

    def around(first: int, last: int, size: int, by: int) -> slice:
        return slice(max(0, first - by), min(size, last + by + 1))

    inner = (around(rows[0], rows[-1], height, grow), around(cols[0], cols[-1], width, grow))
    outer = (around(inner[0].start, inner[0].stop - 1, height, grow),
             around(inner[1].start, inner[1].stop - 1, width, grow))
    part = stroke_trust(np.asarray(now)[outer], power)
    offset = (inner[0].start - outer[0].start, inner[1].start - outer[1].start)
    trust[inner] = part[offset[0]:offset[0] + inner[0].stop - inner[0].start,
                        offset[1]:offset[1] + inner[1].stop - inner[1].start]
    return trust
