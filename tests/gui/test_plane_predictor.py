"""The shown plane, predicted when not training: one view soon, then the views an export
uses; moving to another plane stops the old one between two views."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from unet_studio.core.stack import Stack
from unet_studio.gui.training.plane_predictor import PlanePredictor, predict_shown_plane
from unet_studio.gui.workers import WorkerPool
from unet_studio.ml import predict
from unet_studio.ml.normalise import measure_normalisation
from unet_studio.ml.starting_model import load_starting_model
from unet_studio.ml.tiling import KEPT_VIEWS


@pytest.fixture(scope="module")
def model_and_stack():
    rng = np.random.default_rng(0)
    stack = Stack.from_array(rng.normal(100, 10, (2, 96, 96)).astype(np.float32), "ZYX", name="noise")
    return load_starting_model(3, 1), stack


def _kept_views(model, stack, z):
    settings = model.normalisation or {}
    norm = measure_normalisation(stack, float(settings.get("low_pct", 1.0)), float(settings.get("high_pct", 99.8)))
    return predict.predict_plane(model, stack.plane(0, z), normalisation=norm).probabilities


def test_one_view_first_then_the_same_views_as_an_export(model_and_stack):
    model, stack = model_and_stack
    items = list(predict_shown_plane(model, stack, 0, 1, {}))
    results = [item for item in items if item is not None]
    assert [r[-1] for r in results] == [False, True]   # one view, then the final two
    assert len(items) == KEPT_VIEWS                   # a place to stop after every view
    final = results[-1][2]
    np.testing.assert_allclose(final, _kept_views(model, stack, 1), atol=1e-5)
    assert np.abs(results[0][2] - final).max() > 1e-4  # the first one is a different, quicker answer


class _Document(QObject):
    plane_changed = Signal()
    model_changed = Signal()

    def __init__(self, model, stack):
        super().__init__()
        self.model, self.stack, self.t, self.z = model, stack, 0, 0
        self.put = []

    def put_prediction(self, t, z, probabilities, mask, uncertainty, boundary=None):
        self.put.append((z, probabilities))


def test_moving_to_another_plane_stops_the_old_one_between_views(qtbot, model_and_stack, monkeypatch):
    model, stack = model_and_stack
    release = threading.Event()
    calls = []
    real_predict_plane = predict.predict_plane

    def held_in_the_first_view(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:   # plane 0's first view waits until the user has moved on
            assert release.wait(30)
        return real_predict_plane(*args, **kwargs)

    monkeypatch.setattr(predict, "predict_plane", held_in_the_first_view)
    pool = WorkerPool()
    predictor = PlanePredictor(pool)
    document = _Document(model, stack)
    predictor.set_document(document)
    predictor.request()
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=30_000)   # plane 0's first view under way
    document.z = 1
    document.plane_changed.emit()
    release.set()
    qtbot.waitUntil(lambda: sum(z == 1 for z, _ in document.put) == 2, timeout=30_000)
    qtbot.waitUntil(lambda: pool.idle, timeout=30_000)
    assert [z for z, _ in document.put] == [0, 1, 1]   # plane 0 shown from one view, never finished
    assert len(calls) == 1 + KEPT_VIEWS
    np.testing.assert_allclose(document.put[-1][1], _kept_views(model, stack, 1), atol=1e-5)
