"""Damaged projects: missing images, corrupt labels, folders that refuse writes."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import LabelsError, ProjectError
from unet_studio.core.project import Project


def make_image(path, shape=(24, 32)):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8))
    return path


def project_with_two_images(tmp_path):
    project = Project.create(tmp_path / "proj")
    for name in ("a", "b"):
        entry = project.add_image(make_image(tmp_path / "data" / f"{name}.tif"))
        project.labels_for(entry).paint_disc(0, 0, 5, 5, 2, 1)
    project.save()
    return project


def test_missing_images_are_named_and_can_be_relocated(tmp_path):
    project_with_two_images(tmp_path)
    shutil.move(tmp_path / "data", tmp_path / "elsewhere")
    project = Project.open(tmp_path / "proj")  # opens anyway
    assert [e.name for e in project.missing_images()] == ["a.tif", "b.tif"]
    assert any("a.tif" in p and "missing" in p for p in project.problems)
    with pytest.raises(ProjectError, match="missing"):
        project.labels_for(project.images[0])

    moved = project.relocate(project.images[0], tmp_path / "elsewhere" / "a.tif")
    # b.tif sits in the same new folder, so it is found too.
    assert [e.name for e in moved] == ["a.tif", "b.tif"]
    assert project.missing_images() == [] and project.problems == []
    assert project.labels_for(project.images[1]).data[5, 5] == 1
    assert Project.open(tmp_path / "proj").missing_images() == []  # saved at once


def test_relocating_to_an_image_of_another_size_is_refused(tmp_path):
    project_with_two_images(tmp_path)
    os.remove(tmp_path / "data" / "a.tif")
    other = make_image(tmp_path / "other.tif", shape=(50, 50))
    project = Project.open(tmp_path / "proj")
    with pytest.raises(ProjectError, match="another size"):
        project.relocate(project.images[0], other)
    with pytest.raises(ProjectError, match="does not exist"):
        project.relocate(project.images[0], tmp_path / "nothing.tif")
    assert [e.name for e in project.missing_images()] == ["a.tif"]


def test_a_corrupt_labels_file_fails_alone_and_the_rest_loads(tmp_path):
    project_with_two_images(tmp_path)
    bad = tmp_path / "proj" / "labels" / "a.tif"
    bad.write_bytes(bad.read_bytes()[:100])
    project = Project.open(tmp_path / "proj")
    with pytest.raises(LabelsError, match="a.tif"):
        project.labels_for(project.images[0])
    assert any("a.tif" in p for p in project.problems)
    assert project.labels_for(project.images[1]).data[5, 5] == 1

    # Starting over keeps the damaged file aside instead of deleting it.
    fresh = project.labels_for(project.images[0], replace_damaged=True)
    assert not fresh.data.any()
    kept = list((tmp_path / "proj" / "labels").glob("a.damaged-*.tif"))
    assert len(kept) == 1 and kept[0].stat().st_size == 100


def test_labels_that_no_longer_fit_their_image_are_reported(tmp_path):
    project_with_two_images(tmp_path)
    make_image(tmp_path / "data" / "a.tif", shape=(10, 10))  # replaced by another image
    project = Project.open(tmp_path / "proj")
    with pytest.raises(LabelsError, match="do not fit"):
        project.labels_for(project.images[0])


def test_a_folder_that_refuses_writes_gives_a_clear_error_and_save_as_works(tmp_path, monkeypatch):
    # Tests run as root here, where chmod cannot make a folder read-only. Instead os.replace
    # refuses every target inside the project folder, as a read-only file system would.
    # This covers how saving reacts to the refusal, not how the OS detects read-only-ness.
    project = project_with_two_images(tmp_path)
    labels = project.labels_for(project.images[0])
    labels.paint_disc(0, 0, 15, 15, 2, 2)
    real_replace = os.replace
    locked = str(tmp_path / "proj")

    def replace(src, dst, *args, **kwargs):
        if str(dst).startswith(locked + os.sep):
            raise PermissionError(13, "Permission denied", str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(ProjectError) as info:
        project.save()
    message = str(info.value)
    assert "Permission denied" in message and "Save As" in message and "\n" not in message
    # Nothing half-written is left in the folder.
    assert not list((tmp_path / "proj" / "labels").glob(".*.tmp"))

    project.save_as(tmp_path / "rescued")
    rescued = Project.open(tmp_path / "rescued")
    assert rescued.labels_for(rescued.images[0]).data[15, 15] == 2


def test_a_project_whose_parent_is_a_file_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ProjectError, match="cannot save the project"):
        Project.create(tmp_path / "file" / "proj")


def test_open_notes_a_read_only_folder(tmp_path, monkeypatch):
    # As above, the read-only probe is replaced because root can write anywhere.
    import unet_studio.core.project as project_module

    project_with_two_images(tmp_path)
    monkeypatch.setattr(project_module, "folder_is_writable", lambda folder: False)
    project = Project.open(tmp_path / "proj")
    assert project.read_only
    assert any("read-only" in p and "Save As" in p for p in project.problems)


def test_damaged_project_json_raises_project_error(tmp_path):
    project_with_two_images(tmp_path)
    path = tmp_path / "proj" / "project.json"
    path.write_text(path.read_text().replace('"images"', '"imagez"').replace('"classes": [', '"classes": 5, "x": ['))
    with pytest.raises(ProjectError) as info:
        Project.open(tmp_path / "proj")
    assert "\n" not in str(info.value)


def test_stale_temp_files_from_a_crash_are_cleaned_on_open(tmp_path):
    project_with_two_images(tmp_path)
    old = tmp_path / "proj" / "labels" / ".a.tif.0badc0de.tmp"
    new = tmp_path / "proj" / "labels" / ".b.tif.12345678.tmp"
    old.write_bytes(b"partial")
    new.write_bytes(b"maybe a save in progress")
    os.utime(old, (1, 1))
    Project.open(tmp_path / "proj")
    assert not old.exists() and new.exists()


@pytest.mark.parametrize("depth", [100_000, 500])
def test_a_deeply_nested_project_json_is_a_clear_problem(tmp_path, depth):
    project_with_two_images(tmp_path)
    path = tmp_path / "proj" / "project.json"
    doc = path.read_text()
    nested = "[" * depth + "]" * depth
    path.write_text(doc.replace('"settings": {}', f'"settings": {{"x": {nested}}}'))
    with pytest.raises(ProjectError, match="damaged") as info:
        Project.open(tmp_path / "proj")
    assert "\n" not in str(info.value)


def test_a_temp_file_left_by_a_killed_training_is_removed_by_the_next_model_save(tmp_path):
    from unet_studio.core.atomic import atomic_write_bytes

    project = project_with_two_images(tmp_path)
    project.add_model(lambda p: atomic_write_bytes(p, b"first"))
    left = tmp_path / "proj" / "models" / ".20250101-000000.pt.0badc0de.tmp"
    left.write_bytes(b"half a model")
    os.utime(left, (1, 1))
    project.add_model(lambda p: atomic_write_bytes(p, b"second"))
    assert not left.exists()
    assert len(list((tmp_path / "proj" / "models").iterdir())) == 2
