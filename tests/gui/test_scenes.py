"""A CZI of several scenes (wells, positions) in the app: each scene an image of the project,
shown, painted, trained on and predicted on its own, its files named after it."""
from __future__ import annotations

import numpy as np
import tifffile
from pylibCZIrw import czi as pyczi

from tests.gui.helpers import blobs_image, drag, wait_showing
from tests.gui.test_project_models import predict_all_images_into, show_project_image, train


def write_plate(path, shapes=((64, 64), (48, 80), (56, 56))) -> None:
    with pyczi.create_czi(str(path)) as writer:
        for k, shape in enumerate(shapes):
            writer.write(data=blobs_image(shape, seed=k)[0], plane={"C": 0}, scene=k, location=(1000 * k, 0))


def test_each_scene_is_shown_painted_and_predicted_as_an_image_of_its_own(window, qtbot, tmp_path, monkeypatch,
                                                                           dialogs):
    plate = tmp_path / "plate.czi"
    write_plate(plate)
    window.open_files([str(plate)])
    wait_showing(qtbot, window, "plate.czi, scene 1")
    assert [row.name for row in window.images_panel.rows] == [f"plate.czi, scene {k}" for k in (1, 2, 3)]
    show_project_image(window, qtbot, "plate.czi, scene 2")
    assert window.document.stack.plane_shape == (48, 80)
    window.tools.set_brush_size(3)
    window.classes_panel.select(1)
    drag(qtbot, window.canvas, [(2, 2), (2, 60)])
    window.classes_panel.select(2)
    drag(qtbot, window.canvas, [(16, 12), (16, 20)])
    train(window, qtbot, steps=2)
    labels_file = tmp_path / "plate.unet_studio" / "labels" / "plate_scene2.tif"
    qtbot.waitUntil(lambda: labels_file.is_file() and not window.unsaved_labels(), timeout=10_000)
    asked = []
    monkeypatch.setattr(window.exporter, "ask_path", lambda title, name, kinds: asked.append(name))
    window.actions_by_name["export_mask"].trigger()
    assert asked == ["plate_scene2_mask.tif"]
    out = predict_all_images_into(tmp_path / "masks", window, qtbot, monkeypatch)
    assert not dialogs.errors()
    shapes = {name: tifffile.imread(out / f"{name}_mask.tif").shape for name in ("plate_scene1", "plate_scene2",
                                                                               "plate_scene3")}
    assert shapes == {"plate_scene1": (64, 64), "plate_scene2": (48, 80), "plate_scene3": (56, 56)}
    assert set(np.unique(tifffile.imread(out / "plate_scene3_mask.tif"))) <= {0, 1}
