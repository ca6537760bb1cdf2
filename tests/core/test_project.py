"""Projects: a folder with images, labels, models, settings; save, reopen, save as, bundle."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import ProjectError
from unet_studio.core.labels import LabelClass, LabelVolume
from unet_studio.core.image_project import project_for_image
from unet_studio.core.project import Project


def make_image(path: Path, shape=(24, 32), axes="YX") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": axes})
    return path


def write_fake_model(path: Path, text: str = "weights") -> None:
    path.write_text(text)  # the project only manages paths; any content will do


def test_create_save_and_reopen_keeps_images_labels_classes_settings(tmp_path):
    a = make_image(tmp_path / "data" / "a.tif")
    b = make_image(tmp_path / "data" / "stack.tif", (3, 24, 32), "ZYX")
    project = Project.create(tmp_path / "proj")
    ea, eb = project.add_image(a), project.add_image(b)
    la = project.labels_for(ea)
    assert project.add_class("membrane", (1, 2, 3)) == 3
    la.paint_disc(0, 0, 10, 10, 3, 3)
    lb = project.labels_for(eb)  # loaded after the class was added: gets it too
    assert lb.shape == (3, 24, 32) and lb.axes == "ZYX"
    assert lb.classes == la.classes
    lb.paint_line(0, 2, 1, 1, 20, 30, 2, 1)
    project.settings["patch"] = 64
    project.save()

    again = Project.open(tmp_path / "proj")
    assert [e.path for e in again.images] == [a, b]
    assert again.problems == [] and again.missing_images() == []
    np.testing.assert_array_equal(again.labels_for(again.images[0]).data, la.data)
    np.testing.assert_array_equal(again.labels_for(again.images[1]).data, lb.data)
    assert again.labels_for(again.images[0]).classes[2] == LabelClass("membrane", (1, 2, 3))
    assert again.classes[2].name == "membrane"
    assert again.settings == {"patch": 64}


def test_project_json_is_readable_with_relative_image_paths(tmp_path):
    image = make_image(tmp_path / "data" / "cells.tif")
    project = Project.create(tmp_path / "proj")
    project.add_image(image)
    text = (tmp_path / "proj" / "project.json").read_text()
    assert "\n  " in text  # indented for people
    doc = json.loads(text)
    assert doc["images"][0]["path"] == "../data/cells.tif"
    assert doc["images"][0]["labels"] == "labels/cells.tif"
    assert [c["name"] for c in doc["classes"]] == ["background", "foreground"]


def test_a_project_moved_together_with_its_images_still_finds_them(tmp_path):
    make_image(tmp_path / "old" / "data" / "cells.tif")
    project = Project.create(tmp_path / "old" / "proj")
    project.add_image(tmp_path / "old" / "data" / "cells.tif")
    (tmp_path / "old").rename(tmp_path / "new")
    moved = Project.open(tmp_path / "new" / "proj")
    assert moved.missing_images() == []
    assert moved.images[0].path == tmp_path / "new" / "data" / "cells.tif"


def test_adding_the_same_image_twice_and_two_images_with_one_name(tmp_path):
    a = make_image(tmp_path / "x" / "cells.tif")
    b = make_image(tmp_path / "y" / "cells.tif")
    project = Project.create(tmp_path / "proj")
    ea = project.add_image(a)
    assert project.add_image(a) is ea
    eb = project.add_image(b)
    assert ea.labels != eb.labels  # each image keeps its own labels file
    with pytest.raises(ProjectError, match="does not exist"):
        project.add_image(tmp_path / "nope.tif")


def test_create_refuses_a_folder_holding_a_project(tmp_path):
    Project.create(tmp_path / "proj")
    with pytest.raises(ProjectError, match="already holds a project"):
        Project.create(tmp_path / "proj")


def test_open_refuses_a_folder_that_is_not_a_project(tmp_path):
    with pytest.raises(ProjectError, match="not a unet_studio project"):
        Project.open(tmp_path)
    (tmp_path / "project.json").write_text("{ broken")
    with pytest.raises(ProjectError, match="cannot be read"):
        Project.open(tmp_path)


def test_class_edits_reach_every_image_loaded_or_not(tmp_path):
    project = Project.create(tmp_path / "proj")
    ea = project.add_image(make_image(tmp_path / "a.tif"))
    eb = project.add_image(make_image(tmp_path / "b.tif"))
    la, lb = project.labels_for(ea), project.labels_for(eb)
    project.add_class("membrane")
    project.add_class("debris")
    lb.paint_disc(0, 0, 5, 5, 1, 4)
    lb.paint_disc(0, 0, 9, 9, 1, 3)
    project.save()
    project.rename_class(2, "nucleus")
    project.set_class_color(2, (9, 9, 9))
    assert la.classes[1] == lb.classes[1] == LabelClass("nucleus", (9, 9, 9))
    # Remove a class while b's labels are only on disk: its file is renumbered too.
    again = Project.open(tmp_path / "proj")
    again.labels_for(again.image(ea.id))
    again.remove_class(3)
    b = again.labels_for(again.image(eb.id))
    assert [c.name for c in b.classes] == ["background", "nucleus", "debris"]
    assert b.data[5, 5] == 3 and b.data[9, 9] == 0
    assert [c.name for c in Project.open(tmp_path / "proj").classes] == ["background", "nucleus", "debris"]


def test_a_class_added_to_one_labels_directly_is_kept_by_the_project(tmp_path):
    project = Project.create(tmp_path / "proj")
    labels = project.labels_for(project.add_image(make_image(tmp_path / "a.tif")))
    labels.add_class("extra")
    project.save()
    assert [c.name for c in Project.open(tmp_path / "proj").classes][-1] == "extra"


def test_an_autosave_that_overlaps_a_class_removal_does_not_bring_the_class_back(tmp_path):
    project = Project.create(tmp_path / "proj")   # background, foreground
    labels = project.labels_for(project.add_image(make_image(tmp_path / "a.tif")))
    labels.paint_disc(0, 0, 5, 5, 2, 2)
    take_snapshot = labels.snapshot

    def snapshot_then_removal():
        # The autosave thread copied the labels; the user removes a class before it writes.
        taken = take_snapshot()
        project.remove_class(2)
        return taken

    labels.snapshot = snapshot_then_removal
    project.save_labels(labels)
    assert [c.name for c in project.classes] == ["background"]
    assert [c.name for c in Project.open(tmp_path / "proj").classes] == ["background"]


# ---- an image opened on its own ----------------------------------------------------------
def test_image_opened_alone_gets_a_project_beside_it_on_the_first_save(tmp_path):
    image = make_image(tmp_path / "cells.tif")
    project = project_for_image(image)
    assert project.folder == tmp_path / "cells.unet_studio"
    labels = project.labels_for(project.images[0])
    assert not project.folder.exists()  # only looking leaves no trace
    labels.paint_disc(0, 0, 5, 5, 2, 2)
    project.save_labels(labels)
    assert (project.folder / "project.json").is_file()

    again = project_for_image(image)
    assert again.folder == project.folder
    np.testing.assert_array_equal(again.labels_for(again.find_image(image)).data, labels.data)


def test_read_only_image_folder_falls_back_to_a_user_folder(tmp_path, monkeypatch):
    # Running as root makes chmod ineffective, so the read-only check itself is replaced:
    # this covers the choice of folder and the note, not the operating system's refusal.
    import unet_studio.core.image_project as project_module

    image = make_image(tmp_path / "ro" / "cells.tif")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user"))
    monkeypatch.setattr(project_module, "folder_is_writable", lambda folder: folder != image.parent)
    project = project_for_image(image)
    assert tmp_path / "user" in project.folder.parents
    assert "read-only" in project.note and str(project.folder) in project.note
    labels = project.labels_for(project.images[0])
    labels.paint_disc(0, 0, 5, 5, 2, 1)
    project.save_labels(labels)
    assert not (tmp_path / "ro" / "cells.unet_studio").exists()
    again = project_for_image(image)  # found again in the user folder
    assert again.folder == project.folder
    assert again.labels_for(again.images[0]).data[5, 5] == 1


def test_an_image_that_belongs_to_the_install_keeps_its_project_in_the_user_folder(tmp_path, monkeypatch):
    image = make_image(tmp_path / "install" / "sample.tif")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user"))
    project = project_for_image(image, beside=False)
    assert tmp_path / "user" in project.folder.parents and project.note == ""
    labels = project.labels_for(project.images[0])
    labels.paint_disc(0, 0, 5, 5, 2, 1)
    project.save_labels(labels)
    assert sorted(p.name for p in (tmp_path / "install").iterdir()) == ["sample.tif"]
    assert project_for_image(image, beside=False).folder == project.folder


def test_save_settings_writes_only_a_project_that_exists(tmp_path):
    project = project_for_image(make_image(tmp_path / "cells.tif"))
    project.settings["zoom"] = 2
    project.save_settings()
    assert not project.folder.exists()  # still nothing painted: no folder
    project.ensure_created()
    project.settings["zoom"] = 3
    project.save_settings()
    assert Project.open(project.folder).settings["zoom"] == 3


def test_undoing_a_class_removal_is_adopted_only_while_no_other_image_has_labels(tmp_path):
    project = Project.create(tmp_path / "proj")
    a = project.add_image(make_image(tmp_path / "a.tif"))
    b = project.add_image(make_image(tmp_path / "b.tif"))
    labels = project.labels_for(a)
    project.add_class("debris")
    labels.paint_disc(0, 0, 5, 5, 2, 3)
    project.remove_class(2)
    labels.undo()  # the class list of these labels is back to three classes
    project.adopt_classes(labels)  # b has no labels: nothing else to keep in step
    assert [c.name for c in project.classes] == ["background", "foreground", "debris"]
    assert Project.open(project.folder).classes == project.classes

    project.labels_for(b).paint_disc(0, 0, 9, 9, 2, 3)
    project.save()
    project.remove_class(2)
    labels.undo()
    with pytest.raises(ProjectError, match="undo"):
        project.adopt_classes(labels)
    assert [c.name for c in project.classes] == ["background", "debris"]


# ---- models and training log ---------------------------------------------------------------
def test_models_are_kept_with_time_steps_loss_and_one_current(tmp_path):
    project = Project.create(tmp_path / "proj")
    first = project.add_model(lambda p: write_fake_model(p, "one"), steps=100, loss=0.5)
    second = project.add_model(lambda p: write_fake_model(p, "two"), steps=300, loss=float("nan"))
    assert first.id != second.id
    assert project.models.current is second and second.loss is None
    assert project.current_model_path().read_text() == "two"
    project.set_current_model(first.id)

    again = Project.open(tmp_path / "proj")
    assert [m.id for m in again.models] == [first.id, second.id]
    assert again.models.current.id == first.id
    assert again.models.current.steps == 100 and again.models.current.loss == 0.5
    assert again.current_model_path().read_text() == "one"
    assert again.model_path(second.id).read_text() == "two"  # never deleted
    with pytest.raises(ProjectError):
        again.set_current_model("no-such-model")
    # Starting a new model: none is current, every model is still there.
    assert again.set_current_model(None) is None
    reopened = Project.open(tmp_path / "proj")
    assert reopened.models.current is None and reopened.current_model_path() is None
    assert [m.id for m in reopened.models] == [first.id, second.id]


def test_models_in_the_folder_that_the_project_does_not_list_are_listed_again(tmp_path):
    """A model written whose entry never reached project.json (a crash, or another window's
    older project.json written over it) is listed again on opening, with its steps and loss
    from the training log; none becomes current, and nothing outside models/ is taken."""
    project = Project.create(tmp_path / "proj")
    kept = project.add_model(lambda p: write_fake_model(p, "kept"), steps=100, loss=0.5)
    lost = project.add_model(lambda p: write_fake_model(p, "lost"), steps=300, loss=0.25, info={"trust": 0.9})
    project.log_training({"event": "training", "model": lost.id, "steps": 300, "loss": 0.25, "trust": 0.9})
    project.set_current_model(kept.id)
    data = json.loads((tmp_path / "proj" / "project.json").read_text())
    data["models"] = [m for m in data["models"] if m["id"] != lost.id]   # what the other window wrote
    (tmp_path / "proj" / "project.json").write_text(json.dumps(data))
    write_fake_model(tmp_path / "proj" / "models" / "by-hand.pt", "unlogged")
    (tmp_path / "outside.pt").write_text("not the project's")
    (tmp_path / "proj" / "models" / "link.pt").symlink_to(tmp_path / "outside.pt")
    project.close()

    again = Project.open(tmp_path / "proj")
    assert [m.id for m in again.models] == [kept.id, lost.id, "by-hand"]
    back = again.models.get(lost.id)
    assert (back.steps, back.loss, back.info["trust"], back.info["recovered"]) == (300, 0.25, 0.9, True)
    assert again.models.current.id == kept.id and again.model_path(lost.id).read_text() == "lost"
    assert again.models.get("by-hand").steps is None
    assert any("2 model(s)" in p for p in again.problems)
    assert [m.id for m in again.recovered_models] == [lost.id, "by-hand"]
    again.close()
    assert [m.id for m in Project.open(tmp_path / "proj").models] == [kept.id, lost.id, "by-hand"]   # kept


def test_a_failed_model_save_leaves_the_history_as_it_was(tmp_path):
    project = Project.create(tmp_path / "proj")
    project.add_model(write_fake_model, steps=1)

    def broken(path):
        raise OSError(28, "No space left on device")

    with pytest.raises(ProjectError, match="No space left"):
        project.add_model(broken, steps=2)
    assert len(Project.open(tmp_path / "proj").models) == 1 and len(project.models) == 1


def test_training_log_is_appended_and_survives_a_torn_last_line(tmp_path):
    project = Project.create(tmp_path / "proj")
    project.log_training({"step": 1, "loss": 0.9})
    project.log_training({"step": 2, "loss": 0.7})
    with open(tmp_path / "proj" / "training-log.jsonl", "a") as fh:
        fh.write('{"step": 3, "lo')  # a crash in the middle of a line
    records = Project.open(tmp_path / "proj").training_log()
    assert [r["step"] for r in records] == [1, 2]
    assert all("time" in r for r in records)


# ---- save as and bundle -----------------------------------------------------------------
def test_save_as_copies_everything_and_continues_in_the_new_folder(tmp_path):
    image = make_image(tmp_path / "data" / "a.tif")
    project = Project.create(tmp_path / "proj")
    entry = project.add_image(image)
    labels = project.labels_for(entry)
    labels.paint_disc(0, 0, 5, 5, 2, 1)
    project.save()
    labels.paint_disc(0, 0, 15, 15, 2, 2)  # not saved yet: must go to the new folder
    project.add_model(write_fake_model, steps=5)
    project.log_training({"step": 5})

    project.save_as(tmp_path / "copy")
    assert project.folder == tmp_path / "copy"
    copy = Project.open(tmp_path / "copy")
    copied = copy.labels_for(copy.images[0]).data
    assert copied[5, 5] == 1 and copied[15, 15] == 2
    assert copy.current_model_path().read_text() == "weights"
    assert copy.training_log()[0]["step"] == 5
    assert copy.images[0].path == image
    # The old folder is untouched by later saves.
    labels.paint_disc(0, 0, 20, 20, 2, 1)
    project.save()
    assert Project.open(tmp_path / "proj").labels_for(entry.id).data[20, 20] == 0
    with pytest.raises(ProjectError, match="already holds a project"):
        project.save_as(tmp_path / "proj")


def test_bundle_holds_labels_settings_log_and_current_model(tmp_path):
    image = make_image(tmp_path / "data" / "a.tif")
    project = Project.create(tmp_path / "proj")
    labels = project.labels_for(project.add_image(image))
    labels.paint_disc(0, 0, 5, 5, 2, 2)  # unsaved strokes are included
    project.settings["seed"] = 7
    old = project.add_model(lambda p: write_fake_model(p, "old"))
    current = project.add_model(lambda p: write_fake_model(p, "new"))
    project.log_training({"step": 1})
    (tmp_path / "out").mkdir()
    out = project.export_bundle(tmp_path / "out" / "bundle.zip", include_images=True)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        doc = json.loads(zf.read("project.json"))
        assert zf.read(current.file) == b"new"
        zf.extract("labels/a.tif", tmp_path / "unzipped")
    assert {"project.json", "labels/a.tif", "training-log.jsonl", current.file} <= names
    assert old.file not in names and "images/1-a.tif" in names
    assert doc["settings"] == {"seed": 7} and [m["id"] for m in doc["models"]] == [current.id]
    assert doc["images"][0]["path"] == "images/1-a.tif"
    back = LabelVolume.load(tmp_path / "unzipped" / "labels" / "a.tif")
    np.testing.assert_array_equal(back.data, labels.data)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bundle.zip"]  # no temp left
