"""Damaged projects still open: missing images are named and can be located, a corrupt labels
file is reported and can be started afresh, and saving problems are said once with Save As."""
from __future__ import annotations

import shutil

import numpy as np
from PySide6.QtCore import Qt

from tests.another_window import window_holding
from tests.gui.helpers import drag, wait_idle, wait_showing, write_image
from unet_studio.core.errors import ProjectError
from unet_studio.core.labels import LabelVolume
from unet_studio.core.project import Project


def make_project(tmp_path, names=("a", "b")):
    project = Project.create(tmp_path / "proj")
    for seed, name in enumerate(names):
        path = tmp_path / "data" / f"{name}.tif"
        write_image(path, seed=seed)
        entry = project.add_image(path)
        project.labels_for(entry).paint_disc(0, 0, 8, 8, 3, 1)
    project.save()
    project.close()
    return tmp_path / "proj"


def test_missing_images_are_named_marked_and_located(window, qtbot, tmp_path, dialogs, monkeypatch):
    folder = make_project(tmp_path, names=("a", "b", "c"))
    (tmp_path / "moved").mkdir()
    for name in ("b", "c"):
        shutil.move(tmp_path / "data" / f"{name}.tif", tmp_path / "moved" / f"{name}.tif")
    window.projects.open_project(str(folder))
    wait_showing(qtbot, window, "a.tif")       # the project opens on the image that is there
    warnings = [d for d in dialogs if d[0] == "warning"]
    assert len(warnings) == 1 and warnings[0][1] == "Some images are missing"
    assert "b.tif" in warnings[0][2] and "c.tif" in warnings[0][2] and "a.tif" not in warnings[0][2]
    rows = {row.name: row for row in window.images_panel.rows}
    assert rows["b.tif"].missing and rows["c.tif"].missing and not rows["a.tif"].missing
    assert "missing" in window.images_panel.list.item(1).text()

    window.images_panel.list.setCurrentRow(1)
    assert window.images_panel.locate_button.isEnabled()
    monkeypatch.setattr(window.dialogs, "locate", lambda name, start: str(tmp_path / "moved" / "b.tif"))
    window.images_panel.image_chosen.emit(rows["b.tif"].id)   # a click on the missing image...
    assert dialogs.questions()[-1][1] == "Image missing"      # ..."Locate it now?" -> Yes
    document = wait_showing(qtbot, window, "b.tif")           # found, and shown
    assert document.labels.data[8, 8] == 1                    # its labels were kept all along
    # c.tif moved to the same folder: found together with b.tif.
    assert not any(row.missing for row in window.images_panel.rows)
    assert not window.images_panel.locate_button.isEnabled()
    assert Project.open(folder).missing_images() == []        # and remembered on disk


def test_a_corrupt_labels_file_is_reported_and_can_start_fresh(window, qtbot, tmp_path, dialogs):
    folder = make_project(tmp_path)
    (folder / "labels" / "a.tif").write_bytes(b"II*\x00 not labels any more")
    dialogs.answer_yes = False
    window.projects.open_project(str(folder))
    wait_idle(qtbot, window)
    question = dialogs.questions()[-1]
    assert question[1] == "The labels cannot be read" and "a.tif" in question[2]
    assert window.document is None and window.session.project is not None   # the rest loads
    rows = {row.name: row for row in window.images_panel.rows}
    assert rows["a.tif"].count == -1 and "damaged" in window.images_panel.list.item(0).text()
    window.images_panel.image_chosen.emit(rows["b.tif"].id)
    document = wait_showing(qtbot, window, "b.tif")
    assert document.labels.data[8, 8] == 1

    dialogs.answer_yes = True               # "Start new labels for a.tif?" -> Yes
    window.images_panel.image_chosen.emit(rows["a.tif"].id)
    document = wait_showing(qtbot, window, "a.tif")
    assert not document.labels.data.any()
    kept = list((folder / "labels").glob("a.damaged-*.tif"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"II*\x00 not labels")
    drag(qtbot, window.canvas, [(20, 5), (20, 40)])   # and painting is saved again
    labels_file = folder / "labels" / "a.tif"
    qtbot.waitUntil(lambda: labels_file.is_file() and not window.unsaved_labels(), timeout=10_000)
    assert LabelVolume.load(labels_file).data[20, 10] == 1
    assert not dialogs.errors()


def test_a_save_error_is_said_once_and_save_as_rescues_the_strokes(window, qtbot, tmp_path, dialogs,
                                                                    monkeypatch):
    folder = make_project(tmp_path, names=("a",))
    window.projects.open_project(str(folder))
    wait_showing(qtbot, window, "a.tif")
    project = window.session.project
    real_save_labels = project.save_labels

    def refuse_in_the_old_folder(labels):  # as a disk that turned read-only would
        if project.folder == folder:
            raise ProjectError(f"cannot save the labels in {folder}: Read-only file system; use Save As")
        real_save_labels(labels)

    window.session.autosaver._write = refuse_in_the_old_folder
    dialogs.answer_yes = False
    drag(qtbot, window.canvas, [(30, 5), (30, 40)])
    qtbot.waitUntil(lambda: any(d[1] == "Your labels cannot be saved" for d in dialogs), timeout=10_000)
    drag(qtbot, window.canvas, [(40, 5), (40, 40)])
    qtbot.waitUntil(lambda: not window.unsaved_labels(), timeout=10_000)
    qtbot.wait(50)
    assert [d[1] for d in dialogs].count("Your labels cannot be saved") == 1   # once, not per stroke
    assert "Read-only" in dialogs.questions()[0][2] and "Save Project As" in dialogs.questions()[0][2]
    assert "NOT saved" in window.saved_state.text()

    chosen = tmp_path / "rescued"
    monkeypatch.setattr(window.dialogs, "save_as_folder", lambda start: str(chosen))
    window.actions_by_name["save_as"].trigger()
    wait_idle(qtbot, window)
    assert project.folder == chosen
    saved = LabelVolume.load(chosen / "labels" / "a.tif")
    assert saved.data[30, 10] == 1 and saved.data[40, 10] == 1 and saved.data[8, 8] == 1
    assert window.windowTitle() == "a.tif — rescued — unet_studio"
    drag(qtbot, window.canvas, [(50, 5), (50, 40)])     # and autosave goes on in the new folder
    qtbot.waitUntil(lambda: LabelVolume.load(chosen / "labels" / "a.tif").data[50, 10] == 1, timeout=10_000)
    qtbot.waitUntil(lambda: "Labels saved at" in window.saved_state.text(), timeout=10_000)
    assert str(chosen) in window.saved_state.toolTip()


def test_a_read_only_project_says_so_and_offers_save_as(window, qtbot, tmp_path, dialogs, monkeypatch):
    import unet_studio.core.project as project_module

    folder = make_project(tmp_path, names=("a",))
    monkeypatch.setattr(project_module, "folder_is_writable", lambda folder: False)
    dialogs.answer_yes = False
    window.projects.open_project(str(folder))
    wait_showing(qtbot, window, "a.tif")
    question = [d for d in dialogs.questions() if d[1] == "The project folder is read-only"]
    assert len(question) == 1 and str(folder) in question[0][2] and "Save Project As" in question[0][2]
    assert np.count_nonzero(window.document.labels.data) > 0   # it still opens, labels and all


def test_a_project_open_in_another_window_opens_read_only_and_says_why(window, qtbot, tmp_path, dialogs):
    """A second unet_studio on a project the first holds (core/project_lock.py): it opens, says
    the other window has it, and offers Save As; strokes painted here do not reach its files."""
    folder = make_project(tmp_path, names=("a",))
    with window_holding(folder) as other:
        labels_file = folder / "labels" / "a.tif"
        strokes = labels_file.read_bytes()
        dialogs.answer_yes = False
        window.projects.open_project(str(folder))
        wait_showing(qtbot, window, "a.tif")
        question = [d for d in dialogs.questions() if d[1] == "The project is open in another window"]
        assert len(question) == 1 and f"process {other.pid}" in question[0][2] and "Save Project As" in question[0][2]
        assert window.session.project.read_only
        drag(qtbot, window.canvas, [(10, 10), (30, 30)])
        qtbot.waitUntil(lambda: window.session.autosaver.last_error is not None, timeout=10_000)
        assert "open in another unet_studio window" in str(window.session.autosaver.last_error)
        assert labels_file.read_bytes() == strokes


def test_a_model_the_project_had_lost_from_its_list_is_back_and_said_so(window, qtbot, tmp_path):
    folder = make_project(tmp_path, names=("a",))
    (folder / "models").mkdir(exist_ok=True)
    (folder / "models" / "20260101-120000.pt").write_bytes(b"weights")   # listed nowhere
    window.projects.open_project(str(folder))
    wait_showing(qtbot, window, "a.tif")
    items = window.models_panel._items()
    assert [item.data(0, Qt.ItemDataRole.UserRole) for item in items] == ["20260101-120000"]
    assert "found again in the project folder" in items[0].toolTip(0)
    assert "found in the project folder" in window.statusBar().currentMessage()
