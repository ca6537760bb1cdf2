"""Running the network over a plane of any size in tiles, with bounded memory and no seams.

"same" padding: overlapping tiles, each tile's class probabilities weighted by a window that
fades to (almost) zero towards the tile edges, summed and divided by the summed weights, so
the zero-padded tile borders, where a convolution sees less context, never show as seams.
"valid" padding: the paper's overlap-tile strategy: output tiles abut exactly, each input
tile carries the margin of context the unpadded convolutions consume; the result equals a
whole-image prediction. In both modes the image border is extended by mirroring.

Each tile can be seen in several mirrored views (`views`: as is, turned half a turn (flipped
both ways), flipped left-right, upside down), each view's probabilities flipped back and
averaged: test-time augmentation. The network was trained on flipped and turned patches, so
every view is as valid as the first, and their mean is steadier where one view hesitates. Kept
predictions average the first two: the half turn differs from the first view along both axes,
and the two give the four views' scores at half their work (benchmarks/README.md). It costs
one forward pass per view: the live previews during training use one view. The views are
linear in the result (tiles are blended by fixed weights), so predicting them one at a time
(`InferenceNet.flips` one each) and averaging gives the same probabilities.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval

from unet_studio.ml.device import as_device, inference_dtype
from unet_studio.ml.unet import DoubleConv, UNet


@dataclass
class InferenceNet:
    """A frozen copy of a network, prepared for fast prediction on one device."""
    net: UNet
    device: torch.device
    dtype: torch.dtype
    tile: int           # input tile side, pixels
    overlap: int        # pixels shared by neighbouring tiles ("same" padding)
    batch: int          # tiles per forward pass
    # Mirrored pixels around the plane ("same" padding): the faded tile edges already hide the
    # border, so a wider margin only changes a few pixels at the edge, at more cost.
    border: int = 16
    flips: tuple = ((),)    # the mirrored views of each tile averaged (VIEW_FLIPS), see the module docstring


# The flips (tensor dims of (N, C, Y, X)) of each view, in the order they are added.
VIEW_FLIPS = ((), (-2, -1), (-1,), (-2,))
# What a prediction the user keeps (the shown plane, exports, the CLI) averages.
KEPT_VIEWS = 2


def prepare_inference(net: UNet, device=None, dtype: torch.dtype | None = None,
                      tile: int | None = None, views: int = KEPT_VIEWS) -> InferenceNet:
    """Copy `net` (left untouched, it may still be training) into eval mode on `device`, with
    BatchNorm folded into the convolutions, channels_last and the device's inference precision.
    views: mirrored views of each tile to average (1 to 4; 1 is fastest)."""
    if not 1 <= views <= len(VIEW_FLIPS):
        raise ValueError(f"views must be 1 to {len(VIEW_FLIPS)}, not {views}")
    device = as_device(device) if device is not None else next(net.parameters()).device
    dtype = dtype or inference_dtype(device)
    frozen = copy.deepcopy(net).eval()
    _fold_batchnorm(frozen)
    frozen = frozen.to(device=device, dtype=dtype, memory_format=torch.channels_last).requires_grad_(False)
    if tile is None:
        # Big tiles waste less on overlap; 1024 px at width 16 in bf16 needs ~0.3 GB on a CPU.
        tile = 1024
    mult = frozen.size_multiple
    tile = max(mult * 4, tile // mult * mult)
    batch = 4 if device.type == "cuda" else 1
    return InferenceNet(frozen, device, dtype, tile, overlap=min(64, tile // 4), batch=batch,
                        flips=VIEW_FLIPS[:views])


def _fold_batchnorm(net: UNet) -> None:
    """Merge each eval-mode BatchNorm into the conv before it (same result, less work)."""
    for module in net.modules():
        if isinstance(module, DoubleConv) and isinstance(module[1], torch.nn.BatchNorm2d):
            for i in (0, 3):
                module[i] = fuse_conv_bn_eval(module[i], module[i + 1])
                module[i + 1] = torch.nn.Identity()


@dataclass
class _AxisPlan:
    tile: int            # input tile length
    out: int             # output tile length (== tile for "same")
    starts: list[int]    # tile starts in padded input coordinates
    pad_before: int
    pad_after: int


def _plan_same(length: int, tile: int, overlap: int, multiple: int, border: int) -> _AxisPlan:
    padded = length + 2 * border
    if padded <= tile:
        t = -(-padded // multiple) * multiple
        return _AxisPlan(t, t, [0], border, t - length - border)
    n = math.ceil((padded - tile) / (tile - overlap)) + 1
    # The fewest tiles of at most `tile` px, then shrunk to just cover the plane, so a plane a
    # little larger than one tile costs two small tiles, not two full ones.
    needed = -(-(padded + (n - 1) * overlap) // n)
    tile = min(tile, -(-needed // multiple) * multiple)
    starts = np.linspace(0, padded - tile, n).round().astype(int).tolist()
    return _AxisPlan(tile, tile, starts, border, border)


def _plan_valid(length: int, tile: int, net: UNet) -> _AxisPlan:
    margin = net.margin()
    t_in = net.input_size_for(min(tile, length + 2 * margin))
    t_out = net.output_size(t_in)
    n = math.ceil(length / t_out)
    starts = [i * t_out for i in range(n)]
    return _AxisPlan(t_in, t_out, starts, margin, n * t_out + 2 * margin - length - margin)


def _window(plan: _AxisPlan, ramp: int, index: int) -> np.ndarray:
    """1-D blending weights for tile `index` along one axis: a raised-cosine fade over `ramp`
    px on each side that has a neighbouring tile (the outer sides keep full weight)."""
    w = np.ones(plan.out, np.float32)
    ramp = min(ramp, plan.out // 2)
    if ramp > 0:
        fade = (0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)).astype(np.float32)
        if index > 0:
            w[:ramp] = fade
        if index < len(plan.starts) - 1:
            w[-ramp:] = fade[::-1]
    return w


@dataclass
class TilePlan:
    """Where the tiles of a plane lie: per axis the tiles' starts in the padded plane, the
    shift from a tile's input to its output (the "valid" margin), the blending ramp."""
    y: _AxisPlan
    x: _AxisPlan
    shift: int
    ramp: int

    @property
    def tiles(self) -> list[tuple[int, int]]:
        return [(iy, ix) for iy in range(len(self.y.starts)) for ix in range(len(self.x.starts))]

    def window(self, iy: int, ix: int) -> np.ndarray:
        """The (Y, X) blending weights of tile (iy, ix)'s output."""
        return _window(self.y, self.ramp, iy)[:, None] * _window(self.x, self.ramp, ix)[None, :]

    def output_start(self, iy: int, ix: int) -> tuple[int, int]:
        """Where tile (iy, ix)'s output starts in the padded plane."""
        return self.y.starts[iy] + self.shift, self.x.starts[ix] + self.shift


def plan_tiles(inf: InferenceNet, height: int, width: int) -> TilePlan:
    """The tiles that cover a plane of height x width px."""
    net = inf.net
    if net.arch["padding"] == "same":
        py = _plan_same(height, inf.tile, inf.overlap, net.size_multiple, inf.border)
        px = _plan_same(width, inf.tile, inf.overlap, net.size_multiple, inf.border)
        return TilePlan(py, px, shift=0, ramp=inf.overlap)
    # "valid" tiles abut exactly: nothing to blend
    return TilePlan(_plan_valid(height, inf.tile, net), _plan_valid(width, inf.tile, net),
                    shift=net.margin(), ramp=0)


def predict_tiles(inf: InferenceNet, tiles: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K, y, x) float32 of normalised input tiles (N, C, Y, X)."""
    inputs = torch.from_numpy(tiles).to(inf.device, inf.dtype).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        return _mean_over_views(inf.net, inputs, inf.flips).cpu().numpy()


def pad_mode(height: int, width: int) -> str:
    """How the plane's border is extended: mirrored (a one-pixel-thin plane repeats its edge)."""
    return "reflect" if min(height, width) > 1 else "symmetric"


def iter_predict(inf: InferenceNet, x: np.ndarray, out: np.ndarray) -> Iterator[float]:
    """Fill `out` (net.n_outputs, Y, X) float32 with class probabilities (and the starting
    model's boundary where the network keeps its head: UNet.probabilities) for the normalised plane
    `x` (C, Y, X) float32, yielding the fraction done after each batch of tiles; `out` is
    complete when 1.0 is yielded. (ml/plane_parts.py gives the same numbers part by part.)"""
    _, height, width = x.shape
    plan = plan_tiles(inf, height, width)
    py, px = plan.y, plan.x
    padded = np.pad(x, ((0, 0), (py.pad_before, py.pad_after), (px.pad_before, px.pad_after)),
                    mode=pad_mode(height, width))
    acc = np.zeros((inf.net.n_outputs,) + padded.shape[1:], np.float32)
    weight_sum = np.zeros(padded.shape[1:], np.float32)
    tiles = plan.tiles
    for first in range(0, len(tiles), inf.batch):
        group = tiles[first:first + inf.batch]
        batch = np.stack([padded[:, py.starts[iy]:py.starts[iy] + py.tile, px.starts[ix]:px.starts[ix] + px.tile]
                          for iy, ix in group])
        probs = predict_tiles(inf, batch)
        for (iy, ix), p in zip(group, probs):
            y0, x0 = plan.output_start(iy, ix)
            ys, xs = slice(y0, y0 + py.out), slice(x0, x0 + px.out)
            window = plan.window(iy, ix)
            acc[:, ys, xs] += p * window
            weight_sum[ys, xs] += window
        done = first + len(group)
        if done < len(tiles):
            yield done / len(tiles)
    ys = slice(py.pad_before, py.pad_before + height)
    xs = slice(px.pad_before, px.pad_before + width)
    np.divide(acc[:, ys, xs], weight_sum[ys, xs], out=out)
    yield 1.0


def _mean_over_views(net: UNet, x: torch.Tensor, flips: tuple) -> torch.Tensor:
    """Class probabilities of the batch `x`, averaged over its views flipped along `flips`."""
    total = None
    for dims in flips:
        seen = x.flip(dims).contiguous(memory_format=torch.channels_last) if dims else x
        probs = net.probabilities(seen)
        probs = probs.flip(dims) if dims else probs
        total = probs if total is None else total.add_(probs)
    return total / len(flips) if len(flips) > 1 else total
