"""The pieces of a mask no object holds: shown apart so the user sees what the count left out."""
from __future__ import annotations

import numpy as np

from unet_studio.ml.objects import find_objects
from unet_studio.ml.uncounted import uncounted_pieces


def disc(shape, y, x, r) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - y) ** 2 + (xx - x) ** 2 <= r ** 2


def test_an_object_the_network_hesitates_over_is_an_uncounted_piece_and_a_speck_is_not():
    shape = (96, 160)
    sure = [disc(shape, 30, 30, 12), disc(shape, 30, 80, 12), disc(shape, 70, 40, 12)]
    doubted = disc(shape, 65, 120, 12)
    speck = disc(shape, 85, 85, 1)
    foreground = np.logical_or.reduce(sure + [doubted, speck])
    probability = np.where(foreground, 0.95, 0.05).astype(np.float32)
    probability[doubted] = 0.6     # in the mask, far less sure than the rest: not counted
    probability[speck] = 0.7       # a false speck: too small to be an object
    labels = find_objects(foreground, probability)
    assert labels.max() == 3 and not labels[doubted].any()
    pieces, n = uncounted_pieces(foreground, labels, 24.0)
    assert n == 1
    np.testing.assert_array_equal(pieces, doubted)      # the whole doubted disc, not the speck


def test_nothing_is_uncounted_where_every_piece_is_an_object():
    foreground = disc((64, 64), 32, 32, 10)
    labels = find_objects(foreground, np.where(foreground, 0.9, 0.1).astype(np.float32))
    assert labels.max() == 1
    pieces, n = uncounted_pieces(foreground, labels, 20.0)
    assert n == 0 and not pieces.any()
    pieces, n = uncounted_pieces(foreground, np.zeros_like(labels), None)   # nothing split
    assert n == 0 and not pieces.any()


def test_in_3d_the_pieces_are_counted_across_slices_and_as_large_as_a_ball():
    shape = (24, 64, 64)
    zz, yy, xx = np.mgrid[: shape[0], : shape[1], : shape[2]]

    def ball(z, y, x, r):
        return (zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 <= r ** 2

    sure = [ball(8, 16, 16, 6), ball(8, 16, 48, 6), ball(16, 48, 16, 6)]
    doubted, crumb = ball(16, 48, 48, 6), ball(3, 40, 32, 1)
    foreground = np.logical_or.reduce(sure + [doubted, crumb])
    probability = np.where(foreground, 0.95, 0.05).astype(np.float32)
    probability[doubted] = 0.6
    probability[crumb] = 0.7
    labels = find_objects(foreground, probability, object_size=12.0, z_spacing=1.0)
    assert labels.max() == 3 and not labels[doubted].any()
    pieces, n = uncounted_pieces(foreground, labels, 12.0, z_spacing=1.0)
    assert n == 1
    np.testing.assert_array_equal(pieces, doubted)    # one piece through its slices, not the crumb
