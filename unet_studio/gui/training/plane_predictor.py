"""Keeps the overlay of the shown plane current when not training.

After training stops, or when the user moves to another slice, the shown plane is predicted
with the current model in a worker (during training the engine's previews do this instead):
one view first, then the mean of the mirrored views that exports use (ml/tiling.py).
Moving on stops it between two views.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.gui.errors import show_error
from unet_studio.gui.workers import GeneratorWorker, WorkerPool


def predict_shown_plane(model, stack, t: int, z: int, cache: dict) -> Iterator[tuple | None]:
    """Worker generator: yields (t, z, probabilities, mask, uncertainty, boundary, final) for
    plane (t, z) (boundary: see ml/predict.py's Prediction):
    first from one view (soon on screen), then the mean of the kept views (final: the same as an
    export), with None between the views, where the worker may stop when the user moves on.

    `cache` keeps the stack's intensity normalisation between calls, so every plane is scaled
    alike (and measuring it, which reads a few planes, happens once)."""
    from dataclasses import replace

    from unet_studio.ml.normalise import measure_normalisation  # worker thread: may load torch
    from unet_studio.ml.predict import Prediction, predict_plane
    from unet_studio.ml.tiling import KEPT_VIEWS, VIEW_FLIPS, prepare_inference

    if "normalisation" not in cache:
        settings = model.normalisation or {}
        cache["normalisation"] = measure_normalisation(
            stack, float(settings.get("low_pct", 1.0)), float(settings.get("high_pct", 99.8)))
    if cache.get("inference_for") is not model:  # reused while the model stays the same
        cache["inference"], cache["inference_for"] = prepare_inference(model.net, None, views=1), model
    plane = stack.plane(t, z)
    total = boundary = None
    for n, flips in enumerate(VIEW_FLIPS[:KEPT_VIEWS], start=1):
        one = predict_plane(model, plane, normalisation=cache["normalisation"],
                            inference=replace(cache["inference"], flips=(flips,)))
        total = one.probabilities if total is None else total + one.probabilities
        if one.boundary is not None:
            boundary = one.boundary if boundary is None else boundary + one.boundary
        if n == 1 or n == KEPT_VIEWS:
            prediction = Prediction(total / n, boundary=None if boundary is None else boundary / n)
            yield (t, z, prediction.probabilities, prediction.mask,
                   np.asarray(prediction.uncertainty()), prediction.boundary, n == KEPT_VIEWS)
        else:
            yield None


class PlanePredictor(QObject):
    """Predicts the document's shown plane when its model changes or the plane changes."""

    busy_changed = Signal(bool)

    def __init__(self, pool: WorkerPool, parent_widget=None):
        super().__init__(parent_widget)
        self.pool = pool
        self.parent_widget = parent_widget
        self.document = None
        self.paused = False           # True while training (its previews do the job)
        self._predicted: set[tuple[int, int]] = set()   # planes predicted by the current model
        self._worker: GeneratorWorker | None = None
        self._pending = False
        self._cache: dict = {}
        self._failed_model = None

    def set_document(self, document) -> None:
        if self._worker is not None:
            self._worker.stop()
        self.document = document
        self._predicted.clear()
        self._cache = {}
        if document is not None:
            document.plane_changed.connect(self.request)
            document.model_changed.connect(self._model_changed)

    @Slot()
    def _model_changed(self) -> None:
        self._predicted.clear()
        self.request()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            # Training previews came from an older model than the final one.
            self._predicted.clear()
            self.request()

    @Slot()
    def request(self, *_args) -> None:
        document = self.document
        if document is None or document.model is None or self.paused:
            return
        if document.model is self._failed_model:
            return
        if (document.t, document.z) in self._predicted:
            return
        if self._worker is not None:
            self._pending = True  # one at a time; the latest request runs next
            if (document.t, document.z) != self._worker_plane or document.model is not self._worker_model:
                self._worker.stop()   # its plane is no longer wanted: end after this view
            return
        model, stack, t, z, cache = document.model, document.stack, document.t, document.z, self._cache
        worker = GeneratorWorker(lambda: predict_shown_plane(model, stack, t, z, cache),
                                 name="predict-plane")
        worker.yielded.connect(self._on_result)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._worker_document = document
        self._worker_model = model
        self._worker_plane = (t, z)
        self.busy_changed.emit(True)
        self.pool.start(worker)

    @Slot(object)
    def _on_result(self, result: tuple | None) -> None:
        if result is None:
            return   # between two views
        t, z, probabilities, mask, uncertainty, boundary, final = result
        document = self.document
        if document is self._worker_document and document.model is self._worker_model:
            if final:
                self._predicted.add((t, z))
            document.put_prediction(t, z, probabilities, mask, uncertainty, boundary=boundary)

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        self._pending = False
        # The same model would fail on every slice: say it once, retry with the next model.
        self._failed_model = self._worker_model
        show_error(self.parent_widget, "Prediction failed", reason)

    @Slot()
    def _on_finished(self) -> None:
        self._worker = None
        self.busy_changed.emit(False)
        if self._pending:
            self._pending = False
            self.request()
