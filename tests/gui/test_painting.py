"""Painting with the mouse: strokes land in the LabelVolume, without gaps, and undo works."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from tests.gui.helpers import blobs_image, drag, show_array, widget_pos
from unet_studio.gui.viewer.tool_state import BRUSH


def test_open_image_is_ready_to_paint_with_class_1(window):
    image, _ = blobs_image()
    document = show_array(window, image, "YX", name="cells.tif")
    assert window.windowTitle() == "cells.tif — unet_studio"
    assert window.tools.tool == BRUSH
    assert window.tools.active_class == 1
    assert window.pages.currentWidget() is window.workspace
    assert document.labels.data.shape == (64, 64)


def test_stroke_paints_the_active_class_without_gaps(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    window.tools.set_brush_size(1)
    # One jump across the whole image: a fast mouse still gives a continuous line.
    drag(qtbot, window.canvas, [(20, 3), (20, 60)])
    row = document.labels.data[20]
    assert (row[3:61] == 1).all()
    assert row[:3].sum() == 0 and row[61:].sum() == 0
    assert document.labels.data.sum() == 58  # one pixel wide, nothing elsewhere


def test_brush_size_sets_the_stroke_width(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    window.tools.set_brush_size(7)
    drag(qtbot, window.canvas, [(30, 20), (30, 40)])
    column = document.labels.data[:, 30]
    assert np.flatnonzero(column).tolist() == list(range(27, 34))  # 7 pixels across


def test_painted_pixels_show_in_the_class_colour(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    window.classes_panel.select(2)
    drag(qtbot, window.canvas, [(10, 10), (10, 20)])
    rgba = window.canvas.labels_layer.rgba()
    assert tuple(rgba[10, 15, :3]) == document.labels.classes[1].color
    assert rgba[10, 15, 3] == 255 and rgba[50, 50, 3] == 0


def test_undo_and_redo_with_the_keyboard(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    drag(qtbot, window.canvas, [(10, 10), (10, 30)])
    drag(qtbot, window.canvas, [(40, 10), (40, 30)])
    first_two = document.labels.data.copy()
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert document.labels.data[40].sum() == 0        # the second stroke is gone
    assert document.labels.data[10, 20] == 1           # the first one stays
    assert window.canvas.labels_layer.rgba()[40, 20, 3] == 0  # and the screen agrees
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_array_equal(document.labels.data, first_two)


def test_keys_choose_class_eraser_and_brush_size(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    assert window.tools.active_class == 2
    size = window.tools.brush_size
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.tools.brush_size > size
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    assert window.tools.brush_size < size
    drag(qtbot, window.canvas, [(30, 5), (30, 50)])
    assert document.labels.data[30, 25] == 2
    qtbot.keyClick(window.canvas, Qt.Key.Key_E)
    drag(qtbot, window.canvas, [(30, 20), (30, 30)])
    assert document.labels.data[30, 25] == 0 and document.labels.data[30, 10] == 2


def test_fill_closes_a_region(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    window.tools.set_brush_size(1)
    # A closed square outline, then fill its inside with class 2.
    drag(qtbot, window.canvas, [(10, 10), (10, 30), (30, 30), (30, 10), (10, 10)])
    window.tools.set_tool("fill")
    window.classes_panel.select(2)
    viewport = window.canvas.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=widget_pos(window.canvas, 20, 20))
    inside = document.labels.data[11:30, 11:30]
    assert (inside == 2).all()
    assert document.labels.data[40, 40] == 0  # outside untouched
    window.editing.undo()
    assert (document.labels.data[11:30, 11:30] == 0).all()


def test_z_slider_and_keys_paint_the_right_slice(window, qtbot):
    stack = np.stack([blobs_image(seed=s)[0] for s in range(4)])
    document = show_array(window, stack, "ZYX")
    assert window.slices_panel.z_slider.isVisibleTo(window)
    window.slices_panel.z_slider.setValue(3)
    assert document.z == 3
    drag(qtbot, window.canvas, [(10, 10), (10, 20)])
    assert document.labels.data[3].any() and not document.labels.data[:3].any()
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageUp)
    assert document.z == 2 and window.slices_panel.z_slider.value() == 2
    qtbot.keyClick(window.canvas, Qt.Key.Key_Down)
    assert document.z == 3


def test_classes_can_be_added_renamed_and_removed(window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog
    document = show_array(window, blobs_image()[0], "YX")
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("membrane", True)))
    window.classes_panel.add_class()
    assert [c.name for c in document.labels.classes][-1] == "membrane"
    assert window.tools.active_class == 3
    assert window.classes_panel.list.count() == 3
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("border", True)))
    window.classes_panel.rename_current()
    assert document.labels.classes[2].name == "border"
    assert "border" in window.classes_panel.list.item(2).text()
    window.classes_panel.remove_current()  # the recorded dialog answers Yes
    assert document.labels.n_classes == 2 and window.classes_panel.list.count() == 2
    assert window.tools.active_class == 2
