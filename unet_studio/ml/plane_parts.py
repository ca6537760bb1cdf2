"""A plane too large to hold, predicted part by part, with the numbers of a whole-plane prediction.

ml/tiling.py's `iter_predict` pads the whole plane and sums every tile's blended output into
plane-sized arrays. Here the same tiles, in the same order, are read from the image one at a
time (the mirrored border made by indexing, as np.pad makes it), and sums are kept only where
a later tile still adds to them: a window one tile wide beside the current tile, and a strip
of the rows the next row of tiles overlaps (the overlap's height, the plane's width). A tile's
share of the plane is handed out as a `Part` as soon as no other tile adds to it, summed in
the same order as the whole plane, so the probabilities are the same numbers. Memory follows
the tile and the plane's width, not its area.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from unet_studio.ml.tiling import InferenceNet, pad_mode, plan_tiles, predict_tiles


@dataclass
class Part:
    """Class probabilities (net.n_outputs, h, w) float32 of the plane's `rows` x `cols`,
    complete (see tiling.iter_predict)."""
    rows: slice
    cols: slice
    probabilities: np.ndarray


def mirrored(start: int, stop: int, length: int, mode: str) -> np.ndarray:
    """Indices into an axis of `length` px for the padded positions start..stop-1 (0 = the
    axis's first pixel), mirrored at both ends as np.pad's `mode` ("reflect" or "symmetric")."""
    index = np.arange(start, stop)
    if length == 1:
        return np.zeros_like(index)
    period = 2 * length - 2 if mode == "reflect" else 2 * length
    folded = np.mod(index, period)
    if mode == "reflect":
        return np.where(folded < length, folded, period - folded)
    return np.where(folded < length, folded, period - 1 - folded)


def predict_in_parts(inf: InferenceNet, read: Callable[[slice, slice], np.ndarray], height: int,
                     width: int, normalise: Callable[[np.ndarray], np.ndarray]) -> Iterator[float | Part]:
    """Predict a height x width plane read through `read(rows, cols)` -> (C, h, w) raw pixels,
    scaled by `normalise`. Yields the fraction done (a float < 1) after each batch of tiles and
    every complete Part, row of tiles by row of tiles; the Parts tile the plane exactly once."""
    plan = plan_tiles(inf, height, width)
    py, px = plan.y, plan.x
    mode = pad_mode(height, width)
    n_maps = inf.net.n_outputs   # the classes, and the starting model's boundary if kept
    canvas_width = px.pad_before + width + px.pad_after
    n_y, n_x = len(py.starts), len(px.starts)
    starts_y = [plan.output_start(iy, 0)[0] for iy in range(n_y)]
    starts_x = [plan.output_start(0, ix)[1] for ix in range(n_x)]
    carry = np.zeros((n_maps + 1, 0, canvas_width), np.float32)  # sums of rows shared with the tiles above
    done = 0
    for iy in range(n_y):
        top = starts_y[iy]
        complete_to = starts_y[iy + 1] if iy + 1 < n_y else top + py.out  # rows no later tile adds to
        rows_in = mirrored(py.starts[iy] - py.pad_before, py.starts[iy] + py.tile - py.pad_before, height, mode)
        window = np.zeros((n_maps + 1, py.out, px.out), np.float32)
        _take_carry(window, carry, starts_x[0], 0)
        next_carry = np.zeros((n_maps + 1, top + py.out - complete_to, canvas_width), np.float32)
        for first in range(0, n_x, inf.batch):
            group = range(first, min(first + inf.batch, n_x))
            tiles = np.stack([_read_tile(read, normalise, rows_in, px, ix, width, mode) for ix in group])
            probabilities = predict_tiles(inf, tiles)
            done += len(group)
            if done < n_y * n_x:
                yield done / (n_y * n_x)
            for ix, p in zip(group, probabilities):
                weight = plan.window(iy, ix)
                window[:n_maps] += p * weight
                window[n_maps] += weight
                left = starts_x[ix]
                right = starts_x[ix + 1] if ix + 1 < n_x else left + px.out
                finished = window[:, :, :right - left]
                next_carry[:, :, left:right] = finished[:, complete_to - top:]
                part = _part(finished[:, :complete_to - top], top, left, py.pad_before, px.pad_before,
                             height, width)
                if part is not None:
                    yield part
                window = _slide(window, right - left)
                _take_carry(window, carry, right, px.out - (right - left))
        carry = next_carry


def _read_tile(read, normalise, rows: np.ndarray, px, ix: int, width: int, mode: str) -> np.ndarray:
    """The normalised input tile in row band `rows` (mirrored indices) and column tile ix."""
    cols = mirrored(px.starts[ix] - px.pad_before, px.starts[ix] + px.tile - px.pad_before, width, mode)
    y0, x0 = int(rows.min()), int(cols.min())
    raw = np.asarray(read(slice(y0, int(rows.max()) + 1), slice(x0, int(cols.max()) + 1)))
    raw = raw[None] if raw.ndim == 2 else raw
    return normalise(raw[:, (rows - y0)[:, None], (cols - x0)[None, :]])


def _take_carry(window: np.ndarray, carry: np.ndarray, left: int, start: int) -> None:
    """Start the window's columns from `start` on (the window's first column is the padded
    plane's column `left`) from the sums the tiles above left in the rows they share."""
    rows = carry.shape[1]
    cols = carry[:, :, left + start:left + window.shape[2]]
    if rows and cols.shape[2]:
        window[:, :rows, start:start + cols.shape[2]] = cols


def _slide(window: np.ndarray, by: int) -> np.ndarray:
    """The window moved `by` columns right: its first columns (handed out) dropped, zeros after."""
    moved = np.zeros_like(window)
    moved[:, :, :window.shape[2] - by] = window[:, :, by:]
    return moved


def _part(sums: np.ndarray, top: int, left: int, pad_y: int, pad_x: int, height: int,
          width: int) -> Part | None:
    """The plane's share of a finished block of sums (classes, then the weights) whose first
    pixel is at (top, left) of the padded plane; None when it lies in the mirrored border."""
    y0, y1 = max(top, pad_y), min(top + sums.shape[1], pad_y + height)
    x0, x1 = max(left, pad_x), min(left + sums.shape[2], pad_x + width)
    if y0 >= y1 or x0 >= x1:
        return None
    block = sums[:, y0 - top:y1 - top, x0 - left:x1 - left]
    probabilities = block[:-1] / block[-1]
    return Part(slice(y0 - pad_y, y1 - pad_y), slice(x0 - pad_x, x1 - pad_x), probabilities)
