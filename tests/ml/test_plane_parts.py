"""A plane too large to hold is predicted part by part: the parts tile the plane once, hold the
whole plane's numbers, and only tile-sized pieces of the image are read."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unet_studio.ml.plane_parts import mirrored, predict_in_parts
from unet_studio.ml.tiling import iter_predict, prepare_inference
from unet_studio.ml.unet import UNet


@pytest.mark.parametrize("mode", ["reflect", "symmetric"])
@pytest.mark.parametrize("length", [2, 3, 5, 17])
@pytest.mark.parametrize("pad", [1, 4, 20])
def test_mirrored_indices_are_np_pads(mode, length, pad):
    axis = np.arange(length)
    np.testing.assert_array_equal(axis[mirrored(-pad, length + pad, length, mode)],
                                  np.pad(axis, pad, mode=mode))


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("shape", [(2, 300, 250), (1, 97, 400), (1, 70, 70)])
@pytest.mark.parametrize("starting_head", [0, 3])
def test_parts_hold_the_whole_planes_numbers(padding, shape, starting_head):
    torch.manual_seed(0)
    net = UNet(shape[0], 3, depth=2, width=4, padding=padding, starting_head=starting_head).eval()
    inference = prepare_inference(net, "cpu", dtype=torch.float32, tile=64, views=2)
    image = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    _, height, width = shape
    whole = np.empty((net.n_outputs, height, width), np.float32)
    for _ in iter_predict(inference, image, whole):
        pass
    parts = np.full_like(whole, np.nan)
    times_covered = np.zeros((height, width), int)
    largest_read = 0

    def read(rows, cols):
        nonlocal largest_read
        largest_read = max(largest_read, (rows.stop - rows.start) * (cols.stop - cols.start))
        return image[:, rows, cols]

    fractions = []
    for item in predict_in_parts(inference, read, height, width, lambda raw: raw.astype(np.float32)):
        if isinstance(item, float):
            fractions.append(item)
            continue
        parts[:, item.rows, item.cols] = item.probabilities
        times_covered[item.rows, item.cols] += 1
    assert (times_covered == 1).all()
    np.testing.assert_array_equal(parts, whole)          # the same sums in the same order
    assert largest_read <= 64 * 64                       # a tile at a time, never the plane
    assert fractions == sorted(fractions) and all(0 < f < 1 for f in fractions)
