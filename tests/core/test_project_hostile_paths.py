"""A hand-edited or hostile project.json: every path it names stays inside the project folder.

Images are the exception (read-only, they may live anywhere). Anything else that points out
of the folder, or at an image, is a problem in `project.problems`, and nothing outside the
folder is written, renamed or deleted.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
import tifffile

from unet_studio.core.project import Project


def make_image(path, shape=(24, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8))
    return path


def make_project(tmp_path, image=None):
    image = image or make_image(tmp_path / "data" / "a.tif")
    project = Project.create(tmp_path / "proj")
    project.add_image(image)
    project.add_model(lambda p: p.write_text("weights"), steps=1)
    return tmp_path / "proj"


def edit_project_json(folder, change):
    path = folder / "project.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def snapshot(folder):
    """{relative path: bytes} of every file under `folder` (symlinks not followed)."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                out[os.path.relpath(path, folder)] = open(path, "rb").read()
    return out


def paint_and_save(project):
    """A stroke, saved the way autosave does it (labels only, no project.json write)."""
    entry = project.images[0]
    labels = project.labels_for(entry, replace_damaged=True)
    labels.paint_disc(0, 0, 5, 5, 2, 1)
    project.save_labels(labels)
    return labels


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_labels_outside_the_folder_are_not_renamed_nor_written(tmp_path, where):
    folder = make_project(tmp_path)
    victim = tmp_path / "outside" / "victim.tif"
    victim.parent.mkdir()
    victim.write_bytes(b"the user's own file, not a labels TIFF")
    named = "../outside/victim.tif" if where == "relative" else str(victim)
    edit_project_json(folder, lambda doc: doc["images"][0].update(labels=named))
    before = snapshot(tmp_path / "outside")

    project = Project.open(folder)
    assert any("outside the project folder" in p and "a.tif" in p for p in project.problems)
    paint_and_save(project)
    assert snapshot(tmp_path / "outside") == before
    assert project.labels_path(project.images[0]).parent == folder / "labels"
    again = Project.open(folder)  # the repaired entry was saved; the strokes are found again
    assert again.problems == []
    assert again.labels_for(again.images[0]).data[5, 5] == 1


def test_labels_naming_the_image_itself_never_overwrite_it(tmp_path):
    image = make_image(tmp_path / "proj-images" / "raw.tif")
    folder = make_project(tmp_path, image)
    # The image inside the project folder, and the labels path naming it.
    inside = make_image(folder / "raw.tif")
    edit_project_json(folder, lambda doc: doc["images"][0].update(path="raw.tif", absolute=str(inside),
                                                                    labels="raw.tif"))
    before = inside.read_bytes()
    project = Project.open(folder)
    assert project.images[0].path == inside
    assert any("raw.tif" in p and "the image itself" in p for p in project.problems)
    paint_and_save(project)
    assert inside.read_bytes() == before
    assert project.labels_path(project.images[0]) != inside


def test_a_model_outside_the_folder_is_not_used_nor_copied_by_save_as(tmp_path):
    folder = make_project(tmp_path)
    secret = tmp_path / "outside" / "m.pt"
    secret.parent.mkdir()
    secret.write_text("not the project's")
    edit_project_json(folder, lambda doc: doc["models"][0].update(file="../outside/m.pt"))
    project = Project.open(folder)
    assert any("model" in p and "outside the project folder" in p for p in project.problems)
    assert project.current_model_path() is None
    project.save_as(tmp_path / "deep" / "copy")
    assert not (tmp_path / "deep" / "outside").exists()
    assert sorted(os.listdir(tmp_path)) == ["data", "deep", "outside", "proj"]


def test_a_symlinked_models_folder_is_neither_cleaned_nor_written(tmp_path):
    folder = make_project(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    hidden = outside / ".notes.txt.0badc0de.tmp"
    hidden.write_text("someone's hidden file")
    os.utime(hidden, (1, 1))
    for name in os.listdir(folder / "models"):
        os.rename(folder / "models" / name, outside / name)
    os.rmdir(folder / "models")
    os.symlink(outside, folder / "models")

    project = Project.open(folder)
    assert hidden.exists()
    assert any("models" in p and "outside the project folder" in p for p in project.problems)
    assert project.current_model_path() is None
    before = snapshot(outside)
    with pytest.raises(Exception, match="outside the project folder"):
        project.add_model(lambda p: p.write_text("new"), steps=2)
    assert snapshot(outside) == before


def test_a_symlinked_labels_file_or_training_log_is_not_written_through(tmp_path):
    folder = make_project(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "notes.tif"
    target.write_bytes(b"keep me")
    log = outside / "diary.txt"
    log.write_text("keep me too\n")
    os.symlink(target, folder / "labels" / "a.tif")
    os.symlink(log, folder / "training-log.jsonl")

    project = Project.open(folder)
    assert any("a.tif" in p and "outside the project folder" in p for p in project.problems)
    paint_and_save(project)
    with pytest.raises(Exception, match="outside the project folder"):
        project.log_training({"step": 1})
    assert target.read_bytes() == b"keep me" and log.read_text() == "keep me too\n"


def test_two_images_cannot_share_one_labels_file(tmp_path):
    folder = make_project(tmp_path)
    project = Project.open(folder)
    project.add_image(make_image(tmp_path / "data" / "b.tif"))
    edit_project_json(folder, lambda doc: doc["images"][1].update(labels=doc["images"][0]["labels"]))
    project = Project.open(folder)
    assert any("b.tif" in p and "share" in p for p in project.problems)
    assert project.labels_path(project.images[0]) != project.labels_path(project.images[1])


def test_bundle_holds_only_the_projects_own_files_under_safe_names(tmp_path):
    folder = make_project(tmp_path)
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("password")
    project = Project.open(folder)
    # Paths changed after opening (e.g. by another program): the bundle checks them again.
    project.images[0].labels = "../outside/secret.txt"
    project.models.entries[0].file = "/etc/hostname"
    out = project.export_bundle(tmp_path / "b.zip", include_images=True)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        contents = b"".join(zf.read(n) for n in names)
    assert all(not n.startswith("/") and ".." not in n.split("/") for n in names)
    assert b"password" not in contents
    assert not any(n.startswith("etc") or "secret" in n for n in names)
    assert "images/1-a.tif" in names
