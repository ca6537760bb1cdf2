"""Random painting sessions on a LabelVolume, as the canvas drives it (paint, erase, fill, undo,
redo), checked against a plain numpy model: pixels covered by the brush take the value, a fill
takes the 4-connected region, undo and redo walk a list of whole-volume states and any new edit
forgets what was undone."""
from __future__ import annotations

import numpy as np
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from scipy import ndimage

from unet_studio.core.labels import LabelVolume

SHAPE = (2, 12, 14)   # Z, Y, X: edits must land on their own plane only


def covered(plane_shape, y0, x0, y1, x1, radius) -> np.ndarray:
    """Pixels whose centre is within radius - 0.5 (at least 0.5) of the segment (y0,x0)-(y1,x1)."""
    r = max(float(radius), 1.0) - 0.5
    yy, xx = np.mgrid[: plane_shape[0], : plane_shape[1]].astype(float)
    dy, dx = y1 - y0, x1 - x0
    length2 = dy * dy + dx * dx
    s = 0.0 if length2 == 0 else np.clip(((yy - y0) * dy + (xx - x0) * dx) / length2, 0, 1)
    return (yy - y0 - s * dy) ** 2 + (xx - x0 - s * dx) ** 2 <= r * r + 1e-9


def region(plane: np.ndarray, y: int, x: int) -> np.ndarray:
    """The 4-connected region of pixels with the value of (y, x)."""
    parts, _ = ndimage.label(plane == plane[y, x])
    return parts == parts[y, x]


z_ = st.integers(0, SHAPE[0] - 1)
y_ = st.integers(0, SHAPE[1] - 1)
x_ = st.integers(0, SHAPE[2] - 1)
value_ = st.integers(0, 2)
radius_ = st.sampled_from([1, 1, 1, 2, 3, 4])   # many single pixels: diagonal neighbours for fill
edit = st.one_of(
    st.tuples(st.just("line"), z_, y_, x_, y_, x_, radius_, value_),
    st.tuples(st.just("disc"), z_, y_, x_, radius_, value_),
    st.tuples(st.just("fill"), z_, y_, x_, value_),
    st.tuples(st.just("undo")),
    st.tuples(st.just("redo")),
)


@seed(20261205)
@settings(max_examples=200, deadline=None)
@given(st.lists(edit, min_size=1, max_size=40))
def test_random_edits_match_a_numpy_model(edits):
    labels = LabelVolume(SHAPE, "ZYX")
    model = np.zeros(SHAPE, np.uint8)
    undone: list[np.ndarray] = []
    done: list[np.ndarray] = []
    for kind, *args in edits:
        if kind == "undo":
            assert labels.undo() == bool(done)
            if done:
                undone.append(model)
                model = done.pop()
        elif kind == "redo":
            assert labels.redo() == bool(undone)
            if undone:
                done.append(model)
                model = undone.pop()
        else:
            after = model.copy()
            if kind == "line":
                z, y0, x0, y1, x1, radius, value = args
                labels.paint_line(0, z, y0, x0, y1, x1, radius, value)
                after[z][covered(SHAPE[1:], y0, x0, y1, x1, radius)] = value
            elif kind == "disc":
                z, y, x, radius, value = args
                labels.paint_disc(0, z, y, x, radius, value)
                after[z][covered(SHAPE[1:], y, x, y, x, radius)] = value
            else:
                z, y, x, value = args
                labels.fill(0, z, y, x, value)
                after[z][region(model[z], y, x)] = value
            if not np.array_equal(after, model):   # an edit that changes nothing is no step
                done.append(model)
                undone.clear()
                model = after
        np.testing.assert_array_equal(labels.data, model)
    assert labels.can_undo == bool(done) and labels.can_redo == bool(undone)
