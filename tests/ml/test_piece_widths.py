import numpy as np
import pytest
from scipy import ndimage

from unet_studio.ml.objects import _piece_widths


def _reference(foreground, sampling):
    pieces, n = ndimage.label(foreground)
    distance = ndimage.distance_transform_edt(foreground, sampling=sampling)
    return 2 * np.asarray(ndimage.maximum(distance, pieces, np.arange(1, n + 1)), float)


@pytest.mark.parametrize("shape, z_spacing", [((200, 260), None), ((16, 60, 70), 3.0)])
@pytest.mark.parametrize("cover", [0.03, 0.6])   # sparse pieces (measured in boxes), dense (whole)
def test_each_pieces_width_is_its_largest_distance_to_the_background_in_the_whole_image(shape, z_spacing, cover):
    rng = np.random.default_rng(int(cover * 100) + len(shape))
    for _ in range(4):
        field = ndimage.gaussian_filter(rng.random(shape), 2)
        foreground = field > np.quantile(field, 1 - cover)
        foreground[tuple(rng.integers(0, s, 40) for s in shape)] ^= True   # specks, pits, diagonal touches
        sampling = (z_spacing, 1.0, 1.0) if z_spacing else (1.0, 1.0)
        widths, areas = _piece_widths(foreground, z_spacing)
        np.testing.assert_array_equal(widths, _reference(foreground, sampling))
        assert areas.sum() == foreground.sum()
