"""Nothing painted is lost: an image opened on its own keeps its strokes in a folder beside it,
autosave writes them soon after each stroke, and a project reopens as it was left."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QInputDialog

from tests.gui.helpers import TINY_TRAINING, drag, wait_idle, wait_showing, write_image
from unet_studio.core.labels import LabelVolume


def test_an_image_opened_alone_gets_its_folder_on_the_first_stroke(make_window, qtbot, tmp_path):
    path = tmp_path / "cells.tif"
    write_image(path)
    window = make_window()
    window.open_files([str(path)])
    wait_showing(qtbot, window, "cells.tif")
    folder = tmp_path / "cells.unet_studio"
    assert not folder.exists()            # only looking leaves no trace
    assert window.saved_state.text() == "Your strokes are saved as you paint"
    assert window.windowTitle() == "cells.tif — unet_studio"

    window.tools.set_brush_size(3)
    drag(qtbot, window.canvas, [(10, 5), (10, 50)])
    window.classes_panel.select(2)
    drag(qtbot, window.canvas, [(40, 20), (45, 30)])
    labels_file = folder / "labels" / "cells.tif"
    # Autosave writes within a couple of seconds of the stroke, with no action by the user.
    qtbot.waitUntil(lambda: labels_file.is_file() and not window.unsaved_labels(), timeout=10_000)
    painted = window.document.labels.data.copy()
    np.testing.assert_array_equal(LabelVolume.load(labels_file).data, painted)
    qtbot.waitUntil(lambda: window.saved_state.text().startswith("Labels saved at"), timeout=10_000)
    assert str(folder) in window.saved_state.toolTip()

    # The app restarted: opening the same image brings the strokes back.
    window.close()
    again = make_window()
    again.open_files([str(path)])
    document = wait_showing(qtbot, again, "cells.tif")
    np.testing.assert_array_equal(document.labels.data, painted)
    assert again.images_panel.rows[0].count == int(np.count_nonzero(painted))


def test_closing_writes_the_last_strokes_without_asking(make_window, qtbot, tmp_path, dialogs):
    path = tmp_path / "embryo.tif"
    write_image(path, seed=2)
    window = make_window()
    window.open_files([str(path)])
    wait_showing(qtbot, window, "embryo.tif")
    drag(qtbot, window.canvas, [(30, 5), (30, 60)])
    window.close()                         # at once, before autosave's quiet second is over
    assert not window.isVisible() and not dialogs.questions()
    saved = LabelVolume.load(tmp_path / "embryo.unet_studio" / "labels" / "embryo.tif")
    assert saved.data[30, 5:60].all()


def make_project_with_two_images(window, qtbot, tmp_path, monkeypatch):
    """File > New project, then two images added; returns the project folder."""
    folder = tmp_path / "experiment"
    monkeypatch.setattr(window.dialogs, "new_project_folder", lambda start: str(folder))
    window.project_commands.new_project()
    assert (folder / "project.json").is_file()
    assert window.pages.currentWidget() is window.workspace and window.document is None
    write_image(tmp_path / "data" / "a.tif", seed=1)
    write_image(tmp_path / "data" / "b.tif", seed=2)
    monkeypatch.setattr(window.dialogs, "image_files",
                        lambda start: [str(tmp_path / "data" / "a.tif"), str(tmp_path / "data" / "b.tif")])
    window.images_panel.add_button.click()
    wait_showing(qtbot, window, "a.tif")   # the first image added is shown
    return folder


def paint_both_classes(window, qtbot, y=2):
    window.tools.set_brush_size(3)
    window.classes_panel.select(1)
    drag(qtbot, window.canvas, [(y, 2), (y, 60)])
    window.classes_panel.select(2)
    drag(qtbot, window.canvas, [(16, 12), (16, 20)])


def test_a_project_reopens_with_images_labels_classes_and_model(make_window, qtbot, tmp_path,
                                                                 monkeypatch, dialogs):
    window = make_window()
    folder = make_project_with_two_images(window, qtbot, tmp_path, monkeypatch)
    assert window.windowTitle() == "a.tif — experiment — unet_studio"
    paint_both_classes(window, qtbot)
    a_labels = window.document.labels.data.copy()
    ids = [row.id for row in window.images_panel.rows]
    window.images_panel.image_chosen.emit(ids[1])       # a click on b.tif in the list
    wait_showing(qtbot, window, "b.tif")
    paint_both_classes(window, qtbot, y=60)
    b_labels = window.document.labels.data.copy()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *args, **kw: ("debris", True)))
    window.classes_panel.add_button.click()
    assert [c.name for c in window.document.labels.classes][-1] == "debris"

    window.training.config_options = dict(TINY_TRAINING, steps=3)
    window.training.start()
    qtbot.waitUntil(lambda: not window.training.running, timeout=120_000)
    wait_idle(qtbot, window)
    assert not dialogs.errors()
    assert len(window.session.project.models) == 1
    # Both images' strokes were used.
    assert window.session.project.training_log()[-1]["images"] == ["b.tif", "a.tif"]
    qtbot.waitUntil(lambda: not window.unsaved_labels(), timeout=10_000)
    window.close()

    again = make_window()
    assert again.start_view.projects.count() == 1           # "Recent projects" on the start view
    again.open_files([str(folder)])     # a project folder opens the project
    document = wait_showing(qtbot, again, "b.tif")   # the image shown last
    assert again.windowTitle() == "b.tif — experiment — unet_studio"
    np.testing.assert_array_equal(document.labels.data, b_labels)
    assert [c.name for c in document.labels.classes] == ["background", "foreground", "debris"]
    assert [row.name for row in again.images_panel.rows] == ["a.tif", "b.tif"]
    assert [row.count for row in again.images_panel.rows] == [int(np.count_nonzero(a_labels)),
                                                              int(np.count_nonzero(b_labels))]
    # The current model comes back, so the overlay is shown again without training.
    qtbot.waitUntil(lambda: document.model is not None, timeout=60_000)
    qtbot.waitUntil(lambda: again.canvas.mask_layer.image is not None, timeout=60_000)
    assert again.models_panel.tree.topLevelItemCount() == 1
    again.images_panel.image_chosen.emit(again.images_panel.rows[0].id)
    document = wait_showing(qtbot, again, "a.tif")
    np.testing.assert_array_equal(document.labels.data, a_labels)
    assert document.model is not None   # one model for the whole project
    assert str(folder) in again.settings.value("recent_projects")


def test_class_edits_reach_every_image_and_undo_keeps_them_in_step(window, qtbot, tmp_path,
                                                                   monkeypatch, dialogs):
    make_project_with_two_images(window, qtbot, tmp_path, monkeypatch)
    paint_both_classes(window, qtbot)
    project = window.session.project
    window.classes_panel.select(2)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *args, **kw: ("nucleus", True)))
    window.classes_panel.rename_button.click()
    window.images_panel.image_chosen.emit(window.images_panel.rows[1].id)
    document = wait_showing(qtbot, window, "b.tif")
    assert [c.name for c in document.labels.classes] == ["background", "nucleus"]  # b.tif too
    paint_both_classes(window, qtbot, y=60)

    window.classes_panel.select(2)
    window.classes_panel.remove_button.click()            # "...on every image of the project?" Yes
    assert "every image" in dialogs.questions()[-1][2]
    assert [c.name for c in project.classes] == ["background"]
    window.editing.undo()  # a.tif has labels too: undo cannot bring the class back there, so it is refused
    assert [c.name for c in document.labels.classes] == ["background"]
    assert "Not undone" in window.statusBar().currentMessage()


def test_a_new_project_can_take_the_image_on_screen_with_its_strokes(window, qtbot, tmp_path,
                                                                     monkeypatch, dialogs):
    path = tmp_path / "cells.tif"
    write_image(path)
    window.open_files([str(path)])
    wait_showing(qtbot, window, "cells.tif")
    drag(qtbot, window.canvas, [(10, 5), (10, 50)])
    painted = window.document.labels.data.copy()
    monkeypatch.setattr(window.dialogs, "new_project_folder", lambda start: str(tmp_path / "study"))
    window.actions_by_name["new_project"].trigger()      # "Add cells.tif ... to the new project?" Yes
    document = wait_showing(qtbot, window, "cells.tif")
    assert window.session.project.folder == tmp_path / "study"
    assert window.windowTitle() == "cells.tif — study — unet_studio"
    np.testing.assert_array_equal(document.labels.data, painted)
    drag(qtbot, window.canvas, [(30, 5), (30, 50)])    # painting goes on in the new project
    labels_file = tmp_path / "study" / "labels" / "cells.tif"
    qtbot.waitUntil(lambda: not window.unsaved_labels()
                    and LabelVolume.load(labels_file).data[30, 20] == 1, timeout=10_000)
    assert LabelVolume.load(tmp_path / "cells.unet_studio" / "labels" / "cells.tif").data[30, 20] == 0
