"""A file of several scenes (wells, positions of a CZI) is several images of a project: each its
own entry, labels, name and files; the file itself is kept once."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from pylibCZIrw import czi as pyczi

from unet_studio.core.errors import ProjectError
from unet_studio.core.project import Project


@pytest.fixture
def plate(tmp_path):
    """Three wells of other sizes, each filled with its number."""
    path = tmp_path / "data" / "plate.czi"
    path.parent.mkdir()
    with pyczi.create_czi(str(path)) as writer:
        for k in range(3):
            writer.write(data=np.full((20 + k, 16), k + 1, np.uint8), plane={"C": 0}, scene=k, location=(100 * k, 0))
    return path


def test_each_scene_is_an_image_with_its_own_name_labels_and_pixels(plate, tmp_path):
    project = Project.create(tmp_path / "proj")
    first = project.add_image(plate)
    assert [e.name for e in project.images] == ["plate.czi, scene 1", "plate.czi, scene 2", "plate.czi, scene 3"]
    assert [e.labels for e in project.images] == [f"labels/plate_scene{k}.tif" for k in (1, 2, 3)]
    assert first is project.images[0] and project.add_image(plate) is first      # added once
    third = project.find_image(plate, 2)
    with third.open() as stack:
        assert stack.shape == (22, 16) and (stack.plane() == 3).all() and stack.name == "plate.czi, scene 3"
    project.labels_for(third).paint_disc(0, 0, 5, 5, 2, 2)
    project.save()
    project.close()
    again = Project.open(tmp_path / "proj")
    assert [(e.name, e.scene) for e in again.images] == [(e.name, e.scene) for e in project.images]
    assert again.labels_for(again.find_image(plate, 2)).data.shape == (22, 16)
    assert again.labels_for(again.find_image(plate, 2)).data.max() == 2


def test_a_scene_number_a_project_file_cannot_mean_is_damage(plate, tmp_path):
    project = Project.create(tmp_path / "proj")
    project.add_image(plate)
    project.save()
    project.close()
    doc = json.loads((tmp_path / "proj" / "project.json").read_text())
    doc["images"][1]["scene"] = "two"
    (tmp_path / "proj" / "project.json").write_text(json.dumps(doc))
    with pytest.raises(ProjectError, match="damaged.*scene 'two' is not a scene number"):
        Project.open(tmp_path / "proj")


def test_a_bundle_keeps_the_file_of_several_scenes_once(plate, tmp_path):
    project = Project.create(tmp_path / "proj")
    project.add_image(plate)
    out = project.export_bundle(tmp_path / "bundle.zip", include_images=True)
    with zipfile.ZipFile(out) as zf:
        images = [n for n in zf.namelist() if n.startswith("images/")]
        doc = json.loads(zf.read("project.json"))
    assert images == ["images/1-plate.czi"]
    assert [(i["path"], i["scene"]) for i in doc["images"]] == [("images/1-plate.czi", k) for k in range(3)]


def test_a_moved_file_of_several_scenes_is_found_again_for_all_of_them(plate, tmp_path):
    project = Project.create(tmp_path / "proj")
    project.add_image(plate)
    project.labels_for(project.find_image(plate, 1)).paint_disc(0, 0, 5, 5, 2, 2)
    project.save()
    moved = tmp_path / "elsewhere" / "plate.czi"
    moved.parent.mkdir()
    plate.rename(moved)
    assert len(project.missing_images()) == 3
    assert len(project.relocate(project.images[0], moved)) == 3
    assert not project.missing_images() and all(e.path == moved for e in project.images)


def test_a_project_from_before_scenes_gains_the_other_scenes_and_keeps_its_strokes(plate, tmp_path):
    """Such a project held the file as one entry (its first scene) with labels named after the
    file; adding or opening the file again brings in the other scenes, the strokes staying."""
    project = Project.create(tmp_path / "proj")
    project.add_image(plate)
    project.labels_for(project.images[0]).paint_disc(0, 0, 5, 5, 2, 2)
    project.save()
    project.close()
    doc = json.loads((tmp_path / "proj" / "project.json").read_text())
    doc["images"] = [dict(doc["images"][0], labels="labels/plate.tif")]
    del doc["images"][0]["scene"]
    (tmp_path / "proj" / "project.json").write_text(json.dumps(doc))
    (tmp_path / "proj" / "labels" / "plate_scene1.tif").rename(tmp_path / "proj" / "labels" / "plate.tif")

    old = Project.open(tmp_path / "proj")
    assert [(e.name, e.scene) for e in old.images] == [("plate.czi", None)]
    first = old.add_image(plate, scenes=3)
    assert [e.name for e in old.images] == ["plate.czi, scene 1", "plate.czi, scene 2", "plate.czi, scene 3"]
    assert first is old.images[0] and first.labels == "labels/plate.tif"
    assert old.labels_for(first).data.max() == 2
    assert [e.labels for e in old.images[1:]] == ["labels/plate_scene2.tif", "labels/plate_scene3.tif"]
    old.close()
    again = Project.open(tmp_path / "proj")
    assert [e.scene for e in again.images] == [0, 1, 2]
    assert again.add_image(plate) is again.images[0] and len(again.images) == 3


def test_opening_the_file_of_a_project_from_before_scenes_brings_in_its_scenes(plate, tmp_path):
    from unet_studio.workflow.opening import load_entry, open_image

    project = Project.create(tmp_path / "proj")
    project.add_image(plate)
    doc = json.loads((tmp_path / "proj" / "project.json").read_text())
    doc["images"] = doc["images"][:1]
    del doc["images"][0]["scene"]
    project.close()
    for show in (lambda project: open_image(plate, project),
                 lambda project: load_entry(project, project.images[0])):
        (tmp_path / "proj" / "project.json").write_text(json.dumps(doc))
        old = Project.open(tmp_path / "proj")
        opened = next(show(old))
        try:
            assert opened.entry is old.images[0] and len(old.images) == 3
        finally:
            opened.stack.close()
            old.close()
