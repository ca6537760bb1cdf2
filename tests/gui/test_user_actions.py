"""What the user sees when pressing keys, turning the wheel, dragging and using the menus.

These tests drive the window as a user does (keys, mouse, menu commands found by their text)
and look at the labels written and the image shown, not at how the window is built inside."""
from __future__ import annotations

import numpy as np
import tifffile
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from tests.gui.helpers import blobs_image, drag, show_array, wait_showing, write_image


def menu_command(window, path: str):
    """The menu action at `path`, e.g. "Edit > Undo" (mnemonic & ignored)."""
    *menus, command = [part.strip() for part in path.split(">")]
    actions = window.menuBar().actions()
    for name in menus:
        menu = next(a.menu() for a in actions if a.text().replace("&", "") == name)
        actions = menu.actions()
    return next(a for a in actions if a.text().replace("&", "") == command)


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    window.activateWindow()
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key, modifier)


def stroke_width(labels_plane: np.ndarray, x: int) -> int:
    """How many pixels of column x a horizontal stroke covers."""
    return int(np.count_nonzero(labels_plane[:, x]))


def test_a_class_key_then_a_drag_paints_that_class(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    press(qtbot, window, Qt.Key.Key_2)
    drag(qtbot, window.canvas, [(20, 10), (20, 40)])
    press(qtbot, window, Qt.Key.Key_1)
    drag(qtbot, window.canvas, [(45, 10), (45, 40)])
    assert document.labels.data[20, 25] == 2
    assert document.labels.data[45, 25] == 1
    assert set(np.unique(document.labels.data)) == {0, 1, 2}


def test_bracket_keys_make_the_painted_stroke_thinner_and_thicker(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    for _ in range(30):
        press(qtbot, window, Qt.Key.Key_BracketLeft)
    drag(qtbot, window.canvas, [(10, 5), (10, 58)])
    thinnest = stroke_width(document.labels.data[:32], 30)
    for _ in range(3):
        press(qtbot, window, Qt.Key.Key_BracketRight)
    drag(qtbot, window.canvas, [(45, 5), (45, 58)])
    thicker = stroke_width(document.labels.data[32:], 30)
    assert thinnest == 1
    assert thicker > thinnest


def _visible_width(window) -> float:
    (x0, x1), _ = window.canvas.view.viewRange()
    return x1 - x0


def _wheel(window, steps: int) -> None:
    viewport = window.canvas.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    event = QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def test_the_wheel_zooms_in_and_out_without_painting(window, qtbot):
    document = show_array(window, blobs_image((128, 128))[0], "YX")
    fitted = _visible_width(window)
    _wheel(window, 2)
    zoomed_in = _visible_width(window)
    _wheel(window, -4)
    assert zoomed_in < fitted * 0.95
    assert _visible_width(window) > zoomed_in * 1.05
    assert not document.labels.data.any()


def test_page_and_arrow_keys_change_the_shown_plane(window, qtbot):
    planes = np.stack([np.full((32, 40), 10 * (z + 1), np.uint8) for z in range(4)])
    planes[:, 0, 0] = 255   # the same contrast on every plane
    document = show_array(window, planes, "ZYX")
    start = document.z   # a middle plane: there are planes above and below
    assert 1 <= start <= 2

    def shown() -> int:
        return int(window.canvas.image_layer.image[5, 5])

    press(qtbot, window, Qt.Key.Key_PageDown)
    assert shown() == planes[start + 1, 5, 5]
    press(qtbot, window, Qt.Key.Key_Up)
    press(qtbot, window, Qt.Key.Key_Up)
    assert shown() == planes[start - 1, 5, 5]
    press(qtbot, window, Qt.Key.Key_Down)
    assert shown() == planes[start, 5, 5]
    # A stroke lands on the plane shown.
    drag(qtbot, window.canvas, [(16, 5), (16, 30)])
    painted = [z for z in range(4) if document.labels.data[z].any()]
    assert painted == [start]


def test_ctrl_z_and_the_edit_menu_undo_and_redo_strokes(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    drag(qtbot, window.canvas, [(10, 10), (10, 30)])
    drag(qtbot, window.canvas, [(40, 10), (40, 30)])
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert document.labels.data[40].sum() == 0 and document.labels.data[10, 20] == 1
    menu_command(window, "Edit > Undo").trigger()
    assert not document.labels.data.any()
    menu_command(window, "Edit > Redo").trigger()
    assert document.labels.data[10, 20] == 1 and document.labels.data[40].sum() == 0
    press(qtbot, window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert document.labels.data[40, 20] == 1


def test_strokes_are_there_when_the_image_is_opened_again(make_window, qtbot, tmp_path):
    path = tmp_path / "cells" / "cells.tif"
    write_image(path)
    window = make_window()
    window.open_files([str(path)])
    wait_showing(qtbot, window, "cells.tif")
    press(qtbot, window, Qt.Key.Key_2)
    drag(qtbot, window.canvas, [(20, 10), (20, 40)])
    press(qtbot, window, Qt.Key.Key_1)
    drag(qtbot, window.canvas, [(50, 10), (50, 40)])
    painted = window.document.labels.data.copy()
    menu_command(window, "File > Save now").trigger()
    window.close()

    again = make_window()   # the app started again
    again.open_files([str(path)])
    document = wait_showing(qtbot, again, "cells.tif")
    np.testing.assert_array_equal(document.labels.data, painted)
    assert document.labels.data[20, 25] == 2 and document.labels.data[50, 25] == 1
    assert tifffile.imread(path).shape == painted.shape   # the image itself is not touched


def open_two_image_project(window, qtbot, tmp_path):
    """The project tmp_path/study of a.tif and b.tif, opened; returns a.tif's document."""
    from unet_studio.core.project import Project

    project = Project.create(tmp_path / "study")
    for seed, name in enumerate(("a", "b")):
        write_image(tmp_path / "data" / f"{name}.tif", seed=seed)
        project.add_image(tmp_path / "data" / f"{name}.tif")
    project.save()
    window.open_files([str(tmp_path / "study")])
    return wait_showing(qtbot, window, "a.tif")


def test_the_images_list_switches_images_and_removes_the_shown_one(window, qtbot, tmp_path, dialogs):
    from unet_studio.core.project import Project

    shown = open_two_image_project(window, qtbot, tmp_path)
    listed = window.images_panel.list
    assert [listed.item(i).text().split("\n")[0].strip(" ▶") for i in range(listed.count())] == ["a.tif", "b.tif"]

    qtbot.mouseClick(listed.viewport(), Qt.MouseButton.LeftButton,
                     pos=listed.visualItemRect(listed.item(1)).center())
    wait_showing(qtbot, window, "b.tif")
    assert "b.tif" in window.windowTitle()

    listed.setCurrentRow(1)
    window.images_panel.remove_button.click()          # "Take b.tif out of the project?" Yes
    wait_showing(qtbot, window, "a.tif")
    assert [e.name for e in Project.open(tmp_path / "study").images] == ["a.tif"]
    assert listed.count() == 1 and shown is not window.document   # a.tif opened again


def test_arrow_keys_change_the_plane_whatever_has_the_focus_but_a_text_field(window, qtbot):
    planes = np.stack([np.full((32, 40), 10 * (z + 1), np.uint8) for z in range(4)])
    document = show_array(window, planes, "ZYX")
    start = document.z
    window.activateWindow()
    for widget in (window.classes_panel.list, window.export_button):
        widget.setFocus()
        qtbot.keyClick(widget, Qt.Key.Key_Down)
        assert document.z == start + 1, type(widget).__name__
        qtbot.keyClick(widget, Qt.Key.Key_Up)
        assert document.z == start
    field = QLineEdit(window)   # e.g. renaming a class: the arrows move the text cursor
    field.setText("membrane")
    field.show()
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Left)
    assert document.z == start and field.cursorPosition() == len("membrane") - 1


def test_what_is_segmented_names_the_classes_of_every_image(window, qtbot, tmp_path):
    from unet_studio.core.project import Project

    open_two_image_project(window, qtbot, tmp_path)
    panel = window.classes_panel
    assert panel.templates.isVisibleTo(window)     # the classes still say background / foreground
    first_class_at = panel.list.mapTo(window, panel.list.visualItemRect(panel.list.item(0)).center())
    choice = panel.templates.findText("Touching cells, with their borders")
    panel.templates.activated.emit(choice)           # what a pick in the list sends
    names = ["background", "cell", "border"]
    assert [c.name for c in window.document.labels.classes] == names
    assert [panel.list.item(i).text().split(maxsplit=1)[1] for i in range(3)] == names
    assert not panel.templates.isVisibleTo(window)   # named now: Rename changes a name later
    assert panel.named_hint.isVisibleTo(window)
    qtbot.wait(100)                                  # laid out again
    assert panel.list.mapTo(window, panel.list.visualItemRect(panel.list.item(0)).center()) == first_class_at
    listed = window.images_panel.list
    qtbot.mouseClick(listed.viewport(), Qt.MouseButton.LeftButton,
                     pos=listed.visualItemRect(listed.item(1)).center())
    wait_showing(qtbot, window, "b.tif")
    assert [c.name for c in window.document.labels.classes] == names   # the project's classes
    window.session.flush()
    assert [c.name for c in Project.open(tmp_path / "study").classes] == names


def test_space_drag_over_the_image_pans_whatever_was_clicked_before(window, qtbot):
    """A button clicked last held the keyboard: Space then clicked it, and the drag painted.
    The pointer over the image takes the keyboard (not from a field being typed in)."""
    from PySide6.QtGui import QEnterEvent

    document = show_array(window, blobs_image()[0], "YX")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    button = window.training_panel.button
    button.setFocus()
    assert button.hasFocus() and not window.canvas.hasFocus()
    enter = QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5))
    QApplication.sendEvent(window.canvas, enter)
    assert window.canvas.hasFocus()
    qtbot.keyPress(window.canvas, Qt.Key.Key_Space)
    before = document.labels.version
    drag(qtbot, window.canvas, [(10, 10), (10, 40)])
    qtbot.keyRelease(window.canvas, Qt.Key.Key_Space)
    assert document.labels.version == before            # panned, nothing painted
    field = QLineEdit(window)
    field.show()
    field.setFocus()
    QApplication.sendEvent(window.canvas, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert field.hasFocus()                              # typing goes on where it was
