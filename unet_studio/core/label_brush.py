"""Brush shapes as (bounding box, mask) pairs clipped to a plane.

A brush of radius r covers the pixels whose centre lies within r - 0.5 of the brush centre,
so radius 1 (or 0) is a single pixel and radius r is 2r - 1 pixels across. A line is the set
of pixels within that distance of the segment (a capsule), which is the union of discs at
every point of the segment: no gaps however far apart the two mouse positions are.

Boxes are (y0, y1, x0, x1) with y1, x1 exclusive; masks are bool arrays (y1 - y0, x1 - x0).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

Box = tuple[int, int, int, int]

# A tiny tolerance so pixels exactly at the brush edge are included whatever the rounding.
_EPS = 1e-9


def reach(radius: float) -> float:
    """Largest distance from the centre a covered pixel centre may have."""
    return max(float(radius), 1.0) - 0.5


def _clip(box: Box, plane_shape: tuple[int, int]) -> Box | None:
    y0, y1, x0, x1 = box
    y0, x0 = max(y0, 0), max(x0, 0)
    y1, x1 = min(y1, plane_shape[0]), min(x1, plane_shape[1])
    if y0 >= y1 or x0 >= x1:
        return None
    return (y0, y1, x0, x1)


def disc(plane_shape: tuple[int, int], y: int, x: int, radius: float) -> tuple[Box, np.ndarray] | None:
    """Box and mask of a disc centred on pixel (y, x); None if it misses the plane."""
    r = reach(radius)
    h = int(math.floor(r + _EPS))
    box = _clip((y - h, y + h + 1, x - h, x + h + 1), plane_shape)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    yy = np.arange(y0, y1)[:, None] - y
    xx = np.arange(x0, x1)[None, :] - x
    return box, (yy * yy + xx * xx) <= r * r + _EPS


def _capsule(plane_shape, ay, ax, by, bx, r, h) -> tuple[Box, np.ndarray] | None:
    box = _clip(
        (
            int(math.floor(min(ay, by))) - h,
            int(math.ceil(max(ay, by))) + h + 1,
            int(math.floor(min(ax, bx))) - h,
            int(math.ceil(max(ax, bx))) + h + 1,
        ),
        plane_shape,
    )
    if box is None:
        return None
    y0, y1, x0, x1 = box
    py = np.arange(y0, y1, dtype=np.float64)[:, None] - ay
    px = np.arange(x0, x1, dtype=np.float64)[None, :] - ax
    dy, dx = by - ay, bx - ax
    length2 = dy * dy + dx * dx
    if length2 == 0:
        d2 = py * py + px * px
    else:
        # Distance to the closest point of the segment (projection clamped to its ends).
        s = np.clip((py * dy + px * dx) / length2, 0.0, 1.0)
        ey, ex = py - s * dy, px - s * dx
        d2 = ey * ey + ex * ex
    return box, d2 <= r * r + _EPS


def line(
    plane_shape: tuple[int, int], y0: int, x0: int, y1: int, x1: int, radius: float
) -> Iterator[tuple[Box, np.ndarray]]:
    """Boxes and masks covering a thick segment, in pieces.

    The segment is cut into pieces about as long as the brush is wide, so a long diagonal
    stroke costs time proportional to its length, not to the area of its bounding box.
    """
    r = reach(radius)
    h = int(math.floor(r + _EPS))
    length = math.hypot(y1 - y0, x1 - x0)
    piece = max(16.0, 2.0 * h)
    n = max(1, int(math.ceil(length / piece)))
    for i in range(n):
        a, b = i / n, (i + 1) / n
        part = _capsule(
            plane_shape,
            y0 + a * (y1 - y0),
            x0 + a * (x1 - x0),
            y0 + b * (y1 - y0),
            x0 + b * (x1 - x0),
            r,
            h,
        )
        if part is not None:
            yield part


def pixel_of(v: float) -> int:
    """The pixel under image coordinate v: pixel i covers [i, i + 1) (pyqtgraph's
    convention), so a mouse position is floored, not rounded."""
    return int(math.floor(v))


def union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))
