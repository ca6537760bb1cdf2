"""How image planes are turned into what the canvas shows: contrast levels and channel colours.

Levels are measured once per stack (percentiles of a few planes) and then passed explicitly, so
moving through Z or T does not make the brightness jump from slice to slice.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.8
# Enough pixels for stable percentiles, few enough to measure in milliseconds.
_SAMPLE_PIXELS = 1_000_000
_SAMPLE_PLANES = 5

# Composite colours per channel: the usual fluorescence order, distinguishable when added.
CHANNEL_COLORS = [
    (0, 255, 0), (255, 0, 255), (0, 255, 255), (255, 0, 0), (0, 0, 255), (255, 255, 0),
]
CHANNEL_NAMES = ["green", "magenta", "cyan", "red", "blue", "yellow"]


def sample_planes(n_t: int, n_z: int) -> list[tuple[int, int]]:
    """A few (t, z) planes spread over the stack: the first, last and evenly in between."""
    planes = [(t, z) for t in range(n_t) for z in range(n_z)]
    if len(planes) <= _SAMPLE_PLANES:
        return planes
    picks = np.linspace(0, len(planes) - 1, _SAMPLE_PLANES).round().astype(int)
    return [planes[i] for i in sorted(set(picks.tolist()))]


def auto_levels(planes: Sequence[np.ndarray]) -> list[tuple[float, float]]:
    """Per-channel display levels (low, high) from percentiles of `planes`, each (C, Y, X).

    A constant channel gets levels around its value, so it shows grey rather than failing.
    """
    n_c = planes[0].shape[0]
    levels = []
    for c in range(n_c):
        values = np.concatenate([_subsample(p[c]) for p in planes]).astype(np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            levels.append((0.0, 1.0))
            continue
        lo, hi = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
        if hi <= lo:
            lo, hi = float(values.min()), float(values.max())
        if hi <= lo:
            lo, hi = lo - 0.5, lo + 0.5
        levels.append((float(lo), float(hi)))
    return levels


def _subsample(channel: np.ndarray) -> np.ndarray:
    step = max(1, int(np.sqrt(channel.size / _SAMPLE_PIXELS)))
    return channel[::step, ::step].ravel()


def is_rgb(dtype: np.dtype, n_c: int) -> bool:
    """True for colour pictures (3 or 4 uint8 channels), shown in their own colours."""
    return n_c in (3, 4) and np.dtype(dtype) == np.uint8


def composite(plane: np.ndarray, levels: Sequence[tuple[float, float]],
              colors: Sequence[tuple[int, int, int]] | None = None) -> np.ndarray:
    """All channels of `plane` (C, Y, X) added in colour: (Y, X, 3) uint8.

    Each channel is scaled by its own levels, then tinted with its colour (CHANNEL_COLORS by
    default; for an RGB picture pass red, green, blue).
    """
    colors = list(colors or CHANNEL_COLORS)
    out = np.zeros(plane.shape[1:] + (3,), np.float32)
    for c in range(plane.shape[0]):
        lo, hi = levels[c]
        scaled = (plane[c].astype(np.float32) - lo) / max(hi - lo, 1e-12)
        np.clip(scaled, 0.0, 1.0, out=scaled)
        out += scaled[..., None] * (np.asarray(colors[c % len(colors)], np.float32) / 255.0)
    np.clip(out, 0.0, 1.0, out=out)
    return (out * 255 + 0.5).astype(np.uint8)


RGB_COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
