"""Model > Export for bioimage.io and Model > Start from a model file, as a user runs them."""
from __future__ import annotations

import zipfile

import numpy as np

from tests.gui.test_project_models import open_painted_image, train, weights


def test_export_a_package_then_start_another_project_from_it(window, qtbot, tmp_path, dialogs):
    from unet_studio.gui.bioimageio_dialog import PackageDetails
    from unet_studio.workflow.bioimageio_load import load_bioimageio_package

    document = open_painted_image(window, qtbot, tmp_path)
    train(window, qtbot, steps=3)
    trained = window.session.model
    package = tmp_path / "out" / "nuclei.zip"
    package.parent.mkdir()
    window.exporter.ask_package_details = lambda name: PackageDetails("cells U-Net", ["A. Biologist"],
                                                                      "CC-BY-4.0", None)
    window.exporter.ask_path = lambda *args: str(package)
    window.actions_by_name["export_bioimageio"].trigger()
    assert window.stack_jobs.busy    # in a worker
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=180_000)
    assert not dialogs.errors()
    assert window.predict_panel.status.text() == "Saved nuclei.zip"
    assert "rdf.yaml" in zipfile.ZipFile(package).namelist()
    back = load_bioimageio_package(package)
    for a, b in zip(weights(back), weights(trained)):
        np.testing.assert_array_equal(a, b)

    # Another image, another project: the package is its starting point.
    other = tmp_path / "other"
    other.mkdir()
    document = open_painted_image(window, qtbot, other, name="more.tif")
    assert document.model is None and len(window.session.project.models) == 0
    window.dialogs.model_file = lambda start: str(package)
    window.actions_by_name["start_from_file"].trigger()
    qtbot.waitUntil(lambda: window.session.model is not None, timeout=60_000)
    assert not dialogs.errors()
    entry = window.session.project.models.current
    assert entry.info["imported_from"] == "nuclei.zip" and entry.steps == 3
    assert window.session.model_id == entry.id and document.model is window.session.model
    assert window.models_panel.tree.topLevelItemCount() == 1
    assert "nuclei.zip" in window.training_panel.message.text()
    train(window, qtbot, steps=2)     # trained further from it
    assert window.session.project.models.current.info["started_from"] == entry.id


def test_a_model_for_other_channels_is_refused_with_a_reason(window, qtbot, tmp_path, dialogs):
    from unet_studio.ml.model_file import Model, class_dicts, save_model
    from unet_studio.ml.unet import UNet

    path = tmp_path / "rgb.pt"
    save_model(path, Model(UNet(3, 2, depth=2, width=4).eval(), class_dicts(["background", "cells"])))
    open_painted_image(window, qtbot, tmp_path)
    window.dialogs.model_file = lambda start: str(path)
    window.actions_by_name["start_from_file"].trigger()
    qtbot.waitUntil(lambda: bool(dialogs.errors()), timeout=60_000)
    assert "3 channel" in dialogs.errors()[0][2]
    assert len(window.session.project.models) == 0 and window.session.model is None


def test_the_model_file_question_starts_in_a_folder_that_exists(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QWidget

    from unet_studio.gui.project.dialogs import ProjectDialogs

    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda parent, title, start, filter: asked.append(start)
                        or ("", ""))
    parent = QWidget()
    qtbot.addWidget(parent)
    not_yet_made = tmp_path / "cells.unet_studio"     # an image's project before its first stroke
    assert ProjectDialogs(parent).model_file(not_yet_made) is None
    not_yet_made.mkdir()
    ProjectDialogs(parent).model_file(not_yet_made)
    assert asked == [str(tmp_path), str(not_yet_made)]

