"""Predict all and File > Export: whole-stack results written as TIFFs Fiji reads right."""
from __future__ import annotations

import time

import numpy as np
import pytest
import tifffile

from tests.gui.helpers import TINY_TRAINING, blobs_image, show_array
from tests.kept_views import kept_view_probabilities
from unet_studio.core.stack import open_stack


VOLUME = np.stack([blobs_image(seed=s)[0] for s in range(3)])


def blobs_model(steps: int):
    """A model trained `steps` steps on a blobs image (exports are checked for shape and values)."""
    from unet_studio.ml.train import TrainConfig, train

    image, truth = blobs_image(seed=1)
    strokes = np.zeros(image.shape, np.uint8)
    strokes[2, 2:60] = 1
    strokes[truth & (np.arange(64)[:, None] < 20)] = 2
    for progress in train([image], [strokes], ["background", "foreground"],
                          TrainConfig(**dict(TINY_TRAINING, steps=steps))):
        model = progress.model
    return model.copy()


@pytest.fixture(scope="module")
def tiny_model():
    """Barely trained: the files are checked, not the quality."""
    return blobs_model(3)


@pytest.fixture
def trained(window, tiny_model):
    """The window showing a 3-slice stack with a few strokes and a model."""
    document = show_array(window, VOLUME, "ZYX", name="cells.tif", pixel_size=(0.25, 0.4),
                          z_spacing=1.5, unit="um")
    with document.labels.stroke():
        document.labels.paint_line(0, 1, 2, 2, 2, 60, 2, 1)
        document.labels.paint_disc(0, 1, 16, 16, 4, 2)
    document.set_model(tiny_model)
    return document


def export(window, qtbot, command, path, monkeypatch):
    monkeypatch.setattr(window.exporter, "ask_path", lambda *args: str(path))
    command()
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=120_000)


def expected_masks(document, **kwargs):
    from unet_studio.ml.predict import predict_stack

    for progress in predict_stack(document.model, document.stack, **kwargs):
        result = progress.result
    return result


def test_export_masks_whole_stack_with_axes_and_pixel_size(window, qtbot, trained, tmp_path,
                                                           monkeypatch, dialogs):
    suggested = []
    monkeypatch.setattr(window.exporter, "ask_path", lambda title, name, filter_: suggested.append(name) or None)
    window.actions_by_name["export_mask"].trigger()
    assert suggested == ["cells_mask.tif"]  # the CLI's name
    path = tmp_path / "cells_mask.tif"
    export(window, qtbot, window.actions_by_name["export_mask"].trigger, path, monkeypatch)
    assert not dialogs.errors()
    data = tifffile.imread(path)
    assert data.shape == (3, 64, 64) and data.dtype == np.uint8
    # The field's convention: background (the first class) is 0, class k is k - 1.
    np.testing.assert_array_equal(data, expected_masks(trained).mask - 1)
    assert set(np.unique(data)) <= {0, 1}
    from unet_studio.workflow.export_meta import class_names_in
    assert class_names_in(path) == ["background", "foreground"]
    reopened = open_stack(path)  # as Fiji would: Z slices and the scale come back
    assert reopened.axes == "ZYX" and reopened.n_z == 3
    assert reopened.pixel_size == pytest.approx((0.25, 0.4))  # y and x kept apart
    assert reopened.z_spacing == pytest.approx(1.5)
    assert window.predict_panel.status.text().startswith("Saved")


def test_export_probabilities_and_instances(window, qtbot, trained, tmp_path, monkeypatch):
    path = tmp_path / "p.tif"
    export(window, qtbot, window.actions_by_name["export_probabilities"].trigger, path, monkeypatch)
    probabilities = tifffile.imread(path)
    assert probabilities.shape == (3, 2, 64, 64) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)

    for z in range(3):  # every plane averages the kept views (as is, half a turn)
        expected = kept_view_probabilities(trained.model, VOLUME[z], trained.stack)
        np.testing.assert_allclose(probabilities[z], expected, atol=1e-5)
    with open_stack(path) as reopened:
        assert reopened.pixel_size == pytest.approx((0.25, 0.4)) and reopened.z_spacing == pytest.approx(1.5)

    path = tmp_path / "objects.tif"
    export(window, qtbot, window.actions_by_name["export_instances"].trigger, path, monkeypatch)
    objects = tifffile.imread(path)
    np.testing.assert_array_equal(objects, expected_masks(trained, instances_class=2).instances)
    with open_stack(path) as reopened:
        assert reopened.pixel_size == pytest.approx((0.25, 0.4)) and reopened.z_spacing == pytest.approx(1.5)


@pytest.fixture(scope="module")
def counting_model():
    """Trained long enough to find the blobs as objects (tiny_model finds none)."""
    return blobs_model(40)


def test_instances_split_with_the_objects_panel_size(window, qtbot, trained, counting_model, tmp_path,
                                                     monkeypatch):
    """The exported objects are those the Objects panel shows: its class and the size set there."""
    from unet_studio.ml.objects import find_objects

    trained.set_model(counting_model)
    window.objects_panel.size.setValue(3.0)   # typed by the user: far smaller than the blobs
    assert window.objects_panel.object_size == 3.0
    path = tmp_path / "objects.tif"
    export(window, qtbot, window.actions_by_name["export_instances"].trigger, path, monkeypatch)
    written = tifffile.imread(path)
    result = expected_masks(trained, probabilities=True, instances_class=2)
    assert all(result.instances[z].max() > 0 for z in range(3))   # there are objects to split
    for z in range(3):
        expected = find_objects(result.mask[z] == 2, result.probabilities[z][1], object_size=3.0)
        np.testing.assert_array_equal(written[z], expected)
    assert not np.array_equal(written, result.instances)   # the size made a difference


def test_an_image_without_a_scale_exports_masks_without_one(window, qtbot, tiny_model, tmp_path,
                                                            monkeypatch, dialogs):
    document = show_array(window, VOLUME, "ZYX", name="plain.tif")
    document.set_model(tiny_model)
    path = tmp_path / "plain_mask.tif"
    export(window, qtbot, window.actions_by_name["export_mask"].trigger, path, monkeypatch)
    assert not dialogs.errors()
    with tifffile.TiffFile(path) as tif:
        assert "unit" not in tif.imagej_metadata  # no made-up 1 um pixels in Fiji
    with open_stack(path) as reopened:
        assert reopened.pixel_size is None and reopened.z_spacing is None


def test_export_labels_and_model(window, qtbot, trained, tmp_path, monkeypatch):
    from unet_studio.core.labels import LabelVolume
    from unet_studio.ml.model_file import load_model

    path = tmp_path / "labels.tif"
    export(window, qtbot, window.actions_by_name["export_labels"].trigger, path, monkeypatch)
    saved = LabelVolume.load(path)
    np.testing.assert_array_equal(saved.data, trained.labels.data)
    assert [c.name for c in saved.classes] == ["background", "foreground"]

    path = tmp_path / "model.pt"
    export(window, qtbot, window.actions_by_name["export_model"].trigger, path, monkeypatch)
    model = load_model(path)
    assert model.n_classes == 2 and model.in_channels == 1


def test_predict_all_fills_every_plane(window, qtbot, trained):
    window.predict_panel.predict_button.click()
    assert window.predict_panel.progress.isVisibleTo(window)
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=120_000)
    assert not window.predict_panel.progress.isVisibleTo(window)
    expected = expected_masks(trained).mask
    for z in range(3):
        np.testing.assert_array_equal(trained.predictions.mask(0, z), expected[z])
    trained.set_plane(0, 2)
    np.testing.assert_array_equal(window.canvas.mask_layer.image, expected[2])


def test_cancelled_export_writes_nothing(window, qtbot, trained, tmp_path, monkeypatch):
    import unet_studio.ml.predict as predict

    real_predict_planes = predict.predict_planes

    def slow_predict_planes(*args, **kwargs):  # time to press Cancel half way
        for progress in real_predict_planes(*args, **kwargs):
            time.sleep(0.05)
            yield progress

    monkeypatch.setattr(predict, "predict_planes", slow_predict_planes)
    path = tmp_path / "never.tif"
    monkeypatch.setattr(window.exporter, "ask_path", lambda *args: str(path))
    window.actions_by_name["export_mask"].trigger()
    qtbot.waitUntil(lambda: window.predict_panel.progress.value() > 0, timeout=120_000)
    window.predict_panel.cancel_button.click()
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=120_000)
    assert window.predict_panel.status.text().startswith("Cancelled")
    assert not path.exists()
    assert not list(tmp_path.glob(".never.tif*"))  # no temporary file left behind either


def test_exports_of_a_model_explain_there_is_none_before_asking_where_to_save(window, dialogs,
                                                                            tmp_path, monkeypatch):
    show_array(window, blobs_image()[0], "YX")
    asked = []
    monkeypatch.setattr(window.exporter, "ask_path", lambda *args: asked.append(args) or str(tmp_path / "m.tif"))
    monkeypatch.setattr(window.exporter, "ask_package_details", lambda *args: asked.append(args))
    for name in ("export_mask", "export_model", "export_bioimageio"):
        window.actions_by_name[name].trigger()
    assert [error[1] for error in dialogs.errors()] == ["No model yet"] * 3
    assert asked == []
    assert not (tmp_path / "m.tif").exists()


def test_a_crashing_worker_shows_one_line_and_the_app_goes_on(window, qtbot, trained, dialogs,
                                                              monkeypatch):
    import unet_studio.ml.predict as predict

    real_predict_stack = predict.predict_stack

    def broken(*args, **kwargs):
        raise RuntimeError("tile buffer exploded\nwith a second line nobody needs")
        yield

    monkeypatch.setattr(predict, "predict_stack", broken)
    window.stack_jobs.predict_all()
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=60_000)
    assert dialogs.errors() == [("critical", "Could not finish", "RuntimeError: tile buffer exploded")]
    monkeypatch.setattr(predict, "predict_stack", real_predict_stack)
    window.stack_jobs.predict_all()  # the app still works
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=60_000)
    assert trained.predictions.mask(0, 2) is not None and len(dialogs.errors()) == 1


def test_a_whole_stack_result_of_a_model_no_longer_shown_is_not_shown(window, qtbot, trained,
                                                                       monkeypatch, dialogs):
    """Predict all, then "Start a new model" (or going back to another) before it ends: the
    result is the old model's and must not appear over the image of a document without it."""
    import threading

    import unet_studio.ml.predict as predict

    real_predict_stack = predict.predict_stack
    release = threading.Event()

    def held(*args, **kwargs):
        release.wait(30)
        yield from real_predict_stack(*args, **kwargs)

    monkeypatch.setattr(predict, "predict_stack", held)
    window.stack_jobs.predict_all()
    trained.forget_model()
    release.set()
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=60_000)
    assert trained.predictions.stack_result is None and trained.predictions.mask(0, 2) is None
    assert not dialogs.errors()


def test_masks_exported_after_predict_all_are_the_shown_ones(window, qtbot, trained, tmp_path,
                                                             monkeypatch, dialogs):
    window.predict_panel.predict_button.click()
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=120_000)
    assert trained.predictions.stack_result is not None
    path = tmp_path / "cells_mask.tif"
    export(window, qtbot, window.actions_by_name["export_mask"].trigger, path, monkeypatch)  # written from memory
    assert not dialogs.errors()
    np.testing.assert_array_equal(tifffile.imread(path), trained.predictions.stack_result.mask - 1)
    with open_stack(path) as reopened:
        assert reopened.pixel_size == pytest.approx((0.25, 0.4)) and reopened.z_spacing == pytest.approx(1.5)


def test_an_export_uses_every_core_unless_training_runs(window, qtbot, trained, tmp_path, monkeypatch):
    """Training leaves a core for the window (the whole process's thread count); an export the
    user waits for takes them all, as the CLI does, and gives the count back afterwards."""
    import torch

    from unet_studio.ml import device
    from unet_studio.workflow import export as export_module

    seen = []
    real = export_module.predict_to_files

    def counting(*args, **kwargs):
        seen.append(torch.get_num_threads())
        yield from real(*args, **kwargs)

    monkeypatch.setattr(export_module, "predict_to_files", counting)
    monkeypatch.setattr(device, "cpu_cores", lambda: 3)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)   # as after Train on a 4-core machine: 3 - 1 would be 2
        export(window, qtbot, window.actions_by_name["export_mask"].trigger, tmp_path / "a.tif", monkeypatch)
        assert seen == [3] and torch.get_num_threads() == 1
        window.stack_jobs.set_training(True)
        export(window, qtbot, window.actions_by_name["export_mask"].trigger, tmp_path / "b.tif", monkeypatch)
        assert seen == [3, 1] and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
