"""Robust intensity normalisation: per channel, the ~1st percentile maps to 0, the ~99.8th to 1.

Microscopy images come as uint8, uint16 or float with arbitrary offsets and a few saturated
pixels; min/max scaling would let one hot pixel squash the rest, percentiles do not. The
percentiles are measured once per image (on a subsample of a big stack, so the planes of a
stack are all scaled alike), and the model file records which percentiles were used, so
prediction normalises the same way.

Pixels that are not numbers (NaN, infinite: a float image's masked or failed pixels) take no
part in the percentiles and are given the low end (NaN, -inf) or the high end (+inf), so one
of them cannot turn a whole image into nothing.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

LOW_PCT = 1.0
HIGH_PCT = 99.8
# Enough pixels for stable percentiles; reading more only costs time on big stacks.
_MAX_SAMPLES = 2_000_000
_MAX_PLANES = 16
# A plane too large to read whole is sampled in blocks of this side, spread over it.
_BLOCK_SIDE = 64


@dataclass(frozen=True)
class Normalisation:
    """Per-channel scaling: value `low[c]` -> 0, `high[c]` -> 1 (not clipped)."""
    low: tuple[float, ...]
    high: tuple[float, ...]

    def apply(self, plane: np.ndarray) -> np.ndarray:
        """(C, Y, X) any dtype -> (C, Y, X) float32 scaled per channel."""
        plane = np.asarray(plane)
        if plane.ndim == 2:
            plane = plane[None]
        if plane.shape[0] != len(self.low):
            raise ValueError(f"plane has {plane.shape[0]} channels, normalisation has {len(self.low)}")
        # float64 images are scaled before they become float32 (1e300 would overflow first).
        kind = np.float64 if plane.dtype == np.float64 else np.float32
        low = np.asarray(self.low, kind)[:, None, None]
        scale = 1.0 / np.maximum(np.asarray(self.high, kind) - np.asarray(self.low, kind), 1e-6)
        out = plane.astype(kind, copy=True)
        with np.errstate(over="ignore", invalid="ignore"):
            out -= low
            out *= scale[:, None, None]
            out = out.astype(np.float32, copy=False)
        if plane.dtype.kind == "f":
            np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        return out

    def to_dict(self) -> dict:
        return {"low": [float(v) for v in self.low], "high": [float(v) for v in self.high]}


def measure_normalisation(source: Any, low_pct: float = LOW_PCT, high_pct: float = HIGH_PCT,
                          seed: int = 0) -> Normalisation:
    """Percentiles per channel of an image.

    source: a core Stack (planes are read through `plane(t, z)`, at most 16 of them, evenly
    spread) or an array (C, Y, X) / (Y, X) for one plane.
    """
    rng = np.random.default_rng(seed)
    if hasattr(source, "plane") and hasattr(source, "n_t"):
        planes = [(t, z) for t in range(source.n_t) for z in range(source.n_z)]
        if len(planes) > _MAX_PLANES:
            picks = np.linspace(0, len(planes) - 1, _MAX_PLANES).round().astype(int)
            planes = [planes[i] for i in picks]
        per_plane = max(_MAX_SAMPLES // len(planes), 1)
        samples = [_plane_sample(source, t, z, per_plane, rng) for t, z in planes]
        values = np.concatenate(samples, axis=1)
    else:
        values = _subsample(_as_cyx(source), _MAX_SAMPLES, rng)
    values[~np.isfinite(values)] = np.nan
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # a channel of no numbers at all: below
        low = np.nanpercentile(values, low_pct, axis=1)
        high = np.nanpercentile(values, high_pct, axis=1)
    low = np.where(np.isfinite(low), low, 0.0)
    # A flat channel (all one value) must not divide by zero; give it unit range.
    high = np.where(np.isfinite(high) & (high > low), high, low + 1.0)
    return Normalisation(tuple(float(v) for v in low), tuple(float(v) for v in high))


def _plane_sample(stack: Any, t: int, z: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(C, <=n) values of plane (t, z): of the whole plane, or of a grid of blocks spread over a
    plane too large to read whole (Stack.read_in_parts)."""
    if not getattr(stack, "read_in_parts", False):
        return _subsample(_as_cyx(stack.plane(t, z)), n, rng)
    height, width = stack.plane_shape
    side = _BLOCK_SIDE
    across = max(1, int(np.sqrt(max(n // side ** 2, 1))))
    blocks = [stack.region(t, z, slice(y, y + side), slice(x, x + side))
              for y in np.linspace(0, height - side, across).astype(int)
              for x in np.linspace(0, width - side, across).astype(int)]
    return _subsample(np.concatenate([b.reshape(b.shape[0], -1) for b in blocks], axis=1)[:, None], n, rng)


def _as_cyx(plane: np.ndarray) -> np.ndarray:
    plane = np.asarray(plane)
    return plane[None] if plane.ndim == 2 else plane


def _subsample(plane: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(C, Y, X) -> (C, <=n) float32 values."""
    flat = plane.reshape(plane.shape[0], -1)
    if flat.shape[1] > n:
        flat = flat[:, rng.integers(0, flat.shape[1], n)]
    return flat.astype(np.float64 if flat.dtype == np.float64 else np.float32)
