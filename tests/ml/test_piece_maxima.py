import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import h_maxima as whole_h_maxima

from unet_studio.ml.piece_maxima import h_maxima


def _heights(rng, shape, n, sigma):
    """Smoothed distance maps of n random discs (balls), some touching: 0 between them, tops
    of many heights, a few pits."""
    grid = np.indices(shape)
    blobs = np.zeros(shape, bool)
    for _ in range(n):
        centre = [rng.uniform(0, s) for s in shape]
        radius = rng.uniform(1.5, max(shape[-1] / 6, 2))
        blobs |= sum((g - c) ** 2 for g, c in zip(grid, centre)) < radius ** 2
    height = ndimage.distance_transform_edt(blobs).astype(np.float32)
    height *= rng.random(shape).astype(np.float32) > 0.03
    return ndimage.gaussian_filter(height, sigma) if sigma else height


@pytest.mark.parametrize("shape", [(96, 128), (12, 40, 50)])
def test_the_maxima_are_scikit_images_on_the_whole_image(shape):
    rng = np.random.default_rng(len(shape))
    for trial in range(12):
        height = _heights(rng, shape, int(rng.integers(1, 30)), rng.choice([0.0, 0.7, 1.5]))
        if trial % 4 == 0:
            height[height < 0.05] = 0        # many separate pieces, some of them low
        for h in (0.5, 1.5, 4.0, 40.0):
            np.testing.assert_array_equal(h_maxima(height, h), whole_h_maxima(height, h))


def test_a_piece_lower_than_h_has_no_maximum_beside_one_that_stands_h_high():
    height = np.zeros((20, 40), np.float32)
    height[3:8, 3:8] = 1.0                   # lower than h: no maximum, though its top is one alone
    height[5, 5] = 1.05
    height[10:18, 20:35] = 5.0               # one that stands h above 0
    height[14, 27] = 6.0
    found = h_maxima(height, 1.1)
    np.testing.assert_array_equal(found, whole_h_maxima(height, 1.1))
    assert found[14, 27] and found.sum() == 1


def test_nothing_above_zero_has_no_maxima():
    assert not h_maxima(np.zeros((8, 9), np.float32), 1.0).any()


def test_a_height_map_with_negative_values_is_found_whole():
    height = _heights(np.random.default_rng(5), (40, 60), 8, 1.0) - 0.3
    np.testing.assert_array_equal(h_maxima(height, 1.0), whole_h_maxima(height, 1.0))


def test_a_height_map_above_zero_everywhere_and_flatter_than_h_has_no_maxima():
    height = 5 + _heights(np.random.default_rng(6), (30, 40), 6, 1.0) * 0.1   # one piece, the whole map
    h = float(np.ptp(height)) + 0.01
    np.testing.assert_array_equal(h_maxima(height, h), whole_h_maxima(height, h))
    np.testing.assert_array_equal(h_maxima(height, 0.5), whole_h_maxima(height, 0.5))
