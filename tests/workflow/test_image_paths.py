"""Which images `unet-studio predict PATH...` means: files, folders, sub-folders, patterns."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from unet_studio.workflow.batch import plan_outputs
from unet_studio.workflow.export import MASK, PROBABILITIES
from unet_studio.workflow.image_paths import FoundImage, ImagePathError, find_images


def touch_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.zeros((4, 4), np.uint8))
    return path


@pytest.fixture
def plates(tmp_path):
    """data/a.tif, data/img2.tif, data/img10.tif, data/notes.txt, data/.hidden.tif,
    data/plate1/a.tif, data/plate2/a.png, data/plate2/.cache/b.tif"""
    data = tmp_path / "data"
    for name in ("a.tif", "img2.tif", "img10.tif", ".hidden.tif", "plate1/a.tif", "plate2/.cache/b.tif"):
        touch_image(data / name)
    (data / "plate2" / "a.png").write_bytes(b"")
    (data / "notes.txt").write_text("not an image")
    return data


def test_a_folder_gives_each_image_in_natural_order(plates):
    found = find_images([plates])
    assert [f.path.name for f in found] == ["a.tif", "img2.tif", "img10.tif"]
    assert all(f.subfolder == Path() for f in found)


def test_recursive_keeps_each_sub_folder(plates):
    found = find_images([plates], recursive=True)
    assert [(f.path.relative_to(plates).as_posix(), f.subfolder.as_posix()) for f in found] == [
        ("a.tif", "."), ("img2.tif", "."), ("img10.tif", "."),
        ("plate1/a.tif", "plate1"), ("plate2/a.png", "plate2")]


def test_as_stack_takes_the_folder_as_one_image(plates):
    assert find_images([plates], as_stack=True) == [FoundImage(plates)]


def test_patterns_files_and_repeats(plates):
    found = find_images([str(plates / "img*.tif"), plates / "a.tif", str(plates / "*.tif")])
    assert [f.path.name for f in found] == ["img2.tif", "img10.tif", "a.tif"]   # each once
    found = find_images([str(plates / "**" / "a.*")])
    assert sorted(f.path.relative_to(plates).as_posix() for f in found) == [
        "a.tif", "plate1/a.tif", "plate2/a.png"]


@pytest.mark.parametrize("path, message", [
    ("missing.tif", "does not exist"), ("nothing*.tif", "no images match"), ("empty", "holds no images")])
def test_paths_naming_no_image_are_one_clear_line(tmp_path, path, message):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImagePathError, match=message):
        find_images([str(tmp_path / path)])


def test_an_earlier_runs_outputs_are_not_taken_for_images(plates):
    out = plates / "masks"
    touch_image(out / "a_mask.tif")
    touch_image(plates / "a_mask.tif")      # outside the output folder: a user's own file
    found = find_images([plates], recursive=True, out=out)
    paths = [f.path.relative_to(plates).as_posix() for f in found]
    assert "masks/a_mask.tif" not in paths and "a_mask.tif" in paths


def test_sub_folders_give_the_same_names_in_every_run(plates, tmp_path):
    out = tmp_path / "out"
    plan = plan_outputs(find_images([plates], recursive=True), out, [MASK, PROBABILITIES])
    assert [item.targets[MASK].relative_to(out).as_posix() for item in plan] == [
        "a_mask.tif", "img2_mask.tif", "img10_mask.tif", "plate1/a_mask.tif", "plate2/a_mask.tif"]
    assert not any(item.done for item in plan)
    for target in plan[0].targets.values():
        touch_image(target)
    assert plan[0].done and not plan[1].done
