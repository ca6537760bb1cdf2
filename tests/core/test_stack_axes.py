"""How the dimensions a file declares become T, Z, C, Y, X."""
from __future__ import annotations

import numpy as np
import pytest

from unet_studio.core.stack_axes import map_axes


@pytest.mark.parametrize("source, shape, axes, out_shape, inferred", [
    ("TZCYXS", (2, 3, 4, 5, 6, 1), "TZCYX", (2, 3, 4, 5, 6), False),   # ImageJ
    ("TCZYXS", (1, 2, 3, 5, 6, 1), "ZCYX", (3, 2, 5, 6), False),        # OME: reordered
    ("YXS", (5, 6, 3), "CYX", (3, 5, 6), False),                        # RGB
    ("IYX", (7, 5, 6), "ZYX", (7, 5, 6), True),                         # plain pages
    ("QQYX", (2, 7, 5, 6), "TZYX", (2, 7, 5, 6), True),                 # unnamed pair
    ("TQYX", (2, 7, 5, 6), "TZYX", (2, 7, 5, 6), True),                 # unnamed beside T
    ("QZYX", (2, 7, 5, 6), "TZYX", (2, 7, 5, 6), True),                 # unnamed beside Z
    ("CYXS", (2, 5, 6, 3), "CYX", (6, 5, 6), False),                    # channels of RGB
])
def test_source_axes_become_canonical(source, shape, axes, out_shape, inferred):
    amap = map_axes(source, shape)
    assert (amap.axes, amap.shape, amap.inferred) == (axes, out_shape, inferred)
    assert bool(amap.note) == inferred or "combined" in amap.note


def test_plane_index_picks_the_same_pixels_as_rearranging_everything():
    shape = (2, 3, 4, 5, 6, 3)  # T, Q, Z, Y, X, S: a bit of everything
    data = np.arange(np.prod(shape)).reshape(shape)
    amap = map_axes("TQZYXS", shape)
    # T and Z both exist, so the unnamed Q is merged into T
    assert amap.axes == "TZCYX" and amap.shape == (6, 4, 3, 5, 6)
    whole = amap.to_canonical(data)
    for t in range(6):
        for z in range(4):
            np.testing.assert_array_equal(amap.to_plane(data[amap.plane_index(t, z)]),
                                          whole[t, z])


def test_bad_layouts_are_refused():
    with pytest.raises(ValueError):
        map_axes("ZY", (3, 4))
    with pytest.raises(ValueError):
        map_axes("ZYX", (3, 4))
