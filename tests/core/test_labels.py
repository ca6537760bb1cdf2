"""LabelVolume: painting, strokes, fill, classes, undo/redo, events."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from unet_studio.core.errors import LabelsError
from unet_studio.core.labels import DEFAULT_CLASSES, LabelClass, LabelVolume


def events_of(labels: LabelVolume) -> list:
    seen: list = []
    labels.on_change(lambda t, z, box: seen.append((t, z, box)))
    return seen


# ---- construction --------------------------------------------------------------------
def test_new_volume_is_unlabeled_with_two_distinct_default_classes():
    labels = LabelVolume((5, 8, 9), "ZYX")
    assert labels.data.shape == (5, 8, 9) and labels.data.dtype == np.uint8
    assert not labels.data.any()
    assert [c.name for c in labels.classes] == ["background", "foreground"]
    assert labels.classes[0].color != labels.classes[1].color
    assert labels.n_z == 5 and labels.n_t == 1 and labels.plane_shape == (8, 9)


def test_for_stack_uses_the_label_shape_and_axes():
    class FakeStack:  # the two attributes the contract promises
        label_shape = (2, 3, 10, 12)
        label_axes = "TZYX"

    labels = LabelVolume.for_stack(FakeStack())
    assert labels.shape == (2, 3, 10, 12) and labels.axes == "TZYX"
    labels.paint_disc(1, 2, 4, 4, 1, 1)
    assert labels.data[1, 2, 4, 4] == 1 and labels.data.sum() == 1
    assert labels.plane_view(1, 2)[4, 4] == 1


@pytest.mark.parametrize("axes", ["XY", "ZTYX", "CYX", "YXZ"])
def test_bad_axes_are_refused(axes):
    with pytest.raises(LabelsError):
        LabelVolume((4,) * len(axes), axes)


# ---- painting ------------------------------------------------------------------------
def test_disc_covers_the_pixels_within_the_radius():
    labels = LabelVolume((30, 30))
    labels.paint_disc(0, 0, 15, 12, 4, 2)
    yy, xx = np.mgrid[:30, :30]
    expected = (yy - 15) ** 2 + (xx - 12) ** 2 <= 3.5**2
    np.testing.assert_array_equal(labels.data == 2, expected)
    assert set(np.unique(labels.data)) == {0, 2}


@pytest.mark.parametrize("radius", [0, 1])
def test_radius_one_or_zero_paints_a_single_pixel(radius):
    labels = LabelVolume((10, 10))
    labels.paint_disc(0, 0, 3, 7, radius, 1)
    assert labels.data.sum() == 1 and labels.data[3, 7] == 1


def test_float_mouse_positions_paint_the_pixel_under_the_mouse():
    labels = LabelVolume((10, 10))
    labels.paint_disc(0, 0, 3.9, 7.2, 1, 1)
    assert labels.data[3, 7] == 1 and labels.data.sum() == 1


def test_disc_at_the_edge_is_clipped():
    labels = LabelVolume((10, 10))
    labels.paint_disc(0, 0, 0, 9, 3, 1)
    assert labels.data[0, 9] == 1 and labels.data[0, 7] == 1 and labels.data[2, 9] == 1
    labels.paint_disc(0, 0, -20, -20, 3, 1)  # entirely outside: nothing, no error


@pytest.mark.parametrize("radius", [1, 2, 6])
@pytest.mark.parametrize("end", [(1990, 37), (5, 1999), (1500, 1700), (1999, 1999)])
def test_a_fast_long_segment_has_no_gaps(radius, end):
    labels = LabelVolume((2000, 2000))
    labels.paint_line(0, 0, 3, 4, end[0], end[1], radius, 1)
    painted = labels.data == 1
    # Both end points painted and everything painted is one 8-connected piece.
    assert painted[3, 4] and painted[end]
    _, n = ndimage.label(painted, structure=np.ones((3, 3)))
    assert n == 1
    # And it is a line, not a filled box: about length x width pixels.
    length = np.hypot(end[0] - 3, end[1] - 4)
    assert painted.sum() < (length + 2 * radius) * (2 * radius + 1)


def test_thick_line_is_as_wide_as_the_brush_everywhere():
    labels = LabelVolume((60, 300))
    labels.paint_line(0, 0, 30, 10, 30, 290, 4, 1)
    columns = (labels.data == 1).sum(axis=0)
    assert (columns[10:291] == 7).all()  # radius 4 = 7 pixels across


def test_erase_sets_pixels_back_to_unlabeled():
    labels = LabelVolume((20, 20))
    labels.paint_disc(0, 0, 10, 10, 5, 1)
    labels.paint_disc(0, 0, 10, 10, 2, 0)
    assert labels.data[10, 10] == 0 and labels.data[10, 14] == 1
    labels.erase_line(0, 0, 0, 0, 19, 19, 3)
    assert labels.data[10, 10] == 0 and labels.data[12, 12] == 0


def test_painting_an_unknown_class_is_refused():
    labels = LabelVolume((10, 10))
    with pytest.raises(LabelsError):
        labels.paint_disc(0, 0, 5, 5, 2, 3)
    assert not labels.data.any()


def test_fill_stops_at_other_labels():
    labels = LabelVolume((2, 20, 20), "ZYX")
    # A closed ring of class 1 in plane z=1.
    plane = labels.plane_view(0, 1)
    plane[5, 5:15] = plane[14, 5:15] = 1
    plane[5:15, 5] = plane[5:15, 14] = 1
    labels.fill(0, 1, 10, 10, 2)
    inside = np.zeros((20, 20), bool)
    inside[6:14, 6:14] = True
    np.testing.assert_array_equal(labels.plane_view(0, 1) == 2, inside)
    assert (labels.plane_view(0, 1) == 1).sum() == 36  # the ring is untouched
    assert not labels.plane_view(0, 0).any()  # the other plane too


def test_fill_outside_the_ring_does_not_leak_in():
    labels = LabelVolume((20, 20))
    labels.data[5, 5:15] = labels.data[14, 5:15] = 1
    labels.data[5:15, 5] = labels.data[5:15, 14] = 1
    labels.fill(0, 0, 0, 0, 1)
    assert (labels.data[6:14, 6:14] == 0).all()
    assert (labels.data == 1).sum() == 400 - 64


# ---- classes -------------------------------------------------------------------------
def test_add_class_gets_a_new_distinct_color():
    labels = LabelVolume((4, 4))
    colors = {c.color for c in labels.classes}
    for i in range(20):
        k = labels.add_class(f"cell {i}")
        assert k == 3 + i
        assert labels.classes[k - 1].color not in colors
        colors.add(labels.classes[k - 1].color)


def test_rename_and_recolor():
    labels = LabelVolume((4, 4))
    seen = []
    labels.on_classes_changed(lambda: seen.append(1))
    labels.rename_class(2, "nucleus")
    labels.set_color(2, (1, 2, 3))
    assert labels.classes[1] == LabelClass("nucleus", (1, 2, 3))
    assert len(seen) == 2
    with pytest.raises(LabelsError):
        labels.set_color(2, (1, 2, 300))
    with pytest.raises(LabelsError):
        labels.rename_class(3, "nope")
    with pytest.raises(LabelsError):
        labels.rename_class(1, "  ")


def test_clear_class_erases_it_in_every_plane_and_undoes():
    labels = LabelVolume((3, 10, 10), "ZYX")
    labels.data[0, 1, 1] = labels.data[2, 5, 5] = 2
    labels.data[1, 3, 3] = 1
    before = labels.data.copy()
    labels.clear_class(2)
    assert (labels.data == 2).sum() == 0 and labels.data[1, 3, 3] == 1
    assert labels.undo()
    np.testing.assert_array_equal(labels.data, before)


def test_remove_class_renumbers_the_classes_above_it():
    labels = LabelVolume((10, 10))
    labels.add_class("membrane")  # 3
    labels.add_class("debris")  # 4
    labels.data[0, :4] = [1, 2, 3, 4]
    before, classes_before = labels.data.copy(), labels.classes
    labels.remove_class(2)
    assert [c.name for c in labels.classes] == ["background", "membrane", "debris"]
    assert list(labels.data[0, :4]) == [1, 0, 2, 3]
    assert labels.data.max() == 3  # values stay 1..K
    assert labels.undo()
    np.testing.assert_array_equal(labels.data, before)
    assert labels.classes == classes_before
    assert labels.redo()
    assert list(labels.data[0, :4]) == [1, 0, 2, 3] and labels.n_classes == 3


def test_the_last_class_cannot_be_removed_and_254_is_the_limit():
    labels = LabelVolume((4, 4), classes=[LabelClass("only", (1, 1, 1))])
    with pytest.raises(LabelsError):
        labels.remove_class(1)
    for i in range(253):
        labels.add_class(f"c{i}")
    with pytest.raises(LabelsError):
        labels.add_class("one too many")


def test_labeled_count_per_class():
    labels = LabelVolume((10, 10))
    labels.data[0, :3] = 1
    labels.data[1, :5] = 2
    np.testing.assert_array_equal(labels.labeled_count(), [92, 3, 5])
    assert labels.labeled_planes() == [(0, 0)]


def test_default_classes_are_not_shared_between_volumes():
    a, b = LabelVolume((4, 4)), LabelVolume((4, 4))
    a.add_class("extra")
    a.rename_class(1, "other")
    assert b.n_classes == 2 and b.classes == DEFAULT_CLASSES


# ---- undo / redo ---------------------------------------------------------------------
def test_one_stroke_is_one_undo_step():
    labels = LabelVolume((50, 50))
    with labels.stroke():
        for i in range(20):
            labels.paint_line(0, 0, i, i, i + 1, i + 2, 2, 1)
    painted = labels.data.copy()
    assert painted.any()
    assert labels.undo()
    assert not labels.data.any()
    assert not labels.undo()  # it was a single step
    assert labels.redo()
    np.testing.assert_array_equal(labels.data, painted)


def test_each_paint_call_outside_a_stroke_is_its_own_step():
    labels = LabelVolume((20, 20))
    labels.paint_disc(0, 0, 5, 5, 1, 1)
    labels.paint_disc(0, 0, 9, 9, 1, 2)
    labels.undo()
    assert labels.data[5, 5] == 1 and labels.data[9, 9] == 0


def test_undo_restores_overwritten_labels_not_just_zero():
    labels = LabelVolume((20, 20))
    labels.paint_disc(0, 0, 10, 10, 4, 1)
    first = labels.data.copy()
    labels.paint_disc(0, 0, 10, 12, 4, 2)
    labels.undo()
    np.testing.assert_array_equal(labels.data, first)


def test_a_new_edit_clears_redo():
    labels = LabelVolume((20, 20))
    labels.paint_disc(0, 0, 5, 5, 2, 1)
    labels.undo()
    assert labels.can_redo
    labels.paint_disc(0, 0, 15, 15, 2, 1)
    assert not labels.can_redo and not labels.redo()
    assert labels.data[5, 5] == 0 and labels.data[15, 15] == 1


def test_history_keeps_only_the_last_steps():
    labels = LabelVolume((20, 20), history=3)
    for i in range(5):
        labels.paint_disc(0, 0, 2 + 3 * i, 2, 1, 1)
    assert [labels.undo() for _ in range(4)] == [True, True, True, False]
    # The two oldest strokes could not be undone.
    assert labels.data[2, 2] == 1 and labels.data[5, 2] == 1 and labels.data[8, 2] == 0


def test_history_stores_the_changed_pixels_not_the_plane():
    labels = LabelVolume((2048, 2048))
    labels.paint_disc(0, 0, 1000, 1000, 10, 1)
    assert 0 < labels.history_nbytes <= 2 * 19 * 19
    # A long thin diagonal stroke: its box is most of the plane but few pixels change.
    with labels.stroke():
        labels.paint_line(0, 0, 0, 0, 2047, 2047, 2, 2)
    assert labels.history_nbytes < 0.02 * labels.data.nbytes


def test_undo_works_across_planes_of_a_stroke():
    labels = LabelVolume((2, 3, 16, 16), "TZYX")
    with labels.stroke():
        labels.paint_disc(1, 2, 8, 8, 3, 1)
        labels.paint_disc(0, 0, 4, 4, 3, 2)
    labels.undo()
    assert not labels.data.any()


def test_undo_of_a_fill():
    labels = LabelVolume((30, 30))
    labels.data[15, :] = 1
    labels.fill(0, 0, 2, 2, 2)
    assert (labels.data[:15] == 2).all() and (labels.data[16:] == 0).all()
    labels.undo()
    assert (labels.data[:15] == 0).all() and (labels.data[15] == 1).all()


# ---- events and version --------------------------------------------------------------
def test_events_report_the_changed_rectangle():
    labels = LabelVolume((3, 40, 40), "ZYX")
    seen = events_of(labels)
    labels.paint_disc(0, 2, 10, 20, 3, 1)
    assert seen == [(0, 2, (8, 13, 18, 23))]
    seen.clear()
    labels.paint_line(0, 1, 5, 5, 30, 35, 1, 1)
    (t, z, (y0, y1, x0, x1)), = seen
    assert (t, z) == (0, 1)
    ys, xs = np.nonzero(labels.data[1])
    assert y0 <= ys.min() and ys.max() < y1 and x0 <= xs.min() and xs.max() < x1
    assert (y0, y1, x0, x1) == (5, 31, 5, 36)
    seen.clear()
    labels.undo()
    assert seen == [(0, 1, (5, 31, 5, 36))]
    seen.clear()
    labels.paint_disc(0, 2, 10, 20, 3, 1)  # nothing new: no event
    assert seen == []


def test_version_increments_on_every_change():
    labels = LabelVolume((20, 20))
    v0 = labels.version
    labels.paint_disc(0, 0, 5, 5, 2, 1)
    v1 = labels.version
    assert v1 > v0
    labels.paint_disc(0, 0, 5, 5, 2, 1)  # same pixels, same value: no change
    assert labels.version == v1
    labels.fill(0, 0, 0, 19, 2)
    v2 = labels.version
    assert v2 > v1
    labels.undo()
    assert labels.version > v2


def test_disconnected_callbacks_are_not_called():
    labels = LabelVolume((10, 10))
    seen = []
    disconnect = labels.on_change(lambda *a: seen.append(a))
    disconnect()
    labels.paint_disc(0, 0, 5, 5, 1, 1)
    assert seen == []
