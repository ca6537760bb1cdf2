"""Keeps the Objects panel current: finds the objects of the shown plane in a worker whenever
its prediction, the plane, the object class or the object size changes (one job at a time, the
latest request next), and centres the view on an object the user clicks in the table. With
slices joined, the shown time point's 3-D objects: every slice predicted with the current
model and split in 3-D once, as an export does, then shown slice by slice.

Finding the objects of a big plane takes seconds of CPU (about 3 s for 1024 x 1024 px), taken
from training while it runs: then the objects follow the previews only while they are shown on
the image, a job at most every so often, so that they take at most LIVE_SHARE of the time; 3-D
objects, which predict every slice, and objects not shown wait until training stops. Where the
objects shown are another plane's, or the user changes the class or the size, they are found
at once."""
from __future__ import annotations

import time
from typing import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer, Slot

from unet_studio.gui.viewer.layers import Z_LABELS, Z_MASK
from unet_studio.gui.workers import GeneratorWorker, WorkerPool
from unet_studio.workflow.export_meta import Calibration

FILL_ALPHA, OUTLINE_ALPHA = 70, 255
# While training runs, finding the shown objects takes at most this share of the time.
LIVE_SHARE = 0.2
# ... and begins this many seconds after it started, once its own start-up work is done.
LIVE_FROM = 5.0
WAITING = "Objects are counted when training stops, and followed while shown on the image"
WAITING_3D = "3-D objects are found when training stops"
# Pieces not counted: hatched, light and dark grey stripes STRIPE px wide, seen on any image.
UNCOUNTED_LIGHT, UNCOUNTED_DARK, UNCOUNTED_ALPHA, STRIPE = 220, 60, 150, 3


GOLDEN = 0.618034   # object i's hue is i golden ratios round the colour wheel: neighbours differ


def _now() -> float:
    """The clock the pace of objects found while training keeps to (tests set it)."""
    return time.monotonic()


def object_colours(labels: np.ndarray, uncounted: np.ndarray | None = None,
                   hues: np.ndarray | None = None) -> np.ndarray:
    """(Y, X, 4) uint8 picture of the objects: each its own colour (`hues[i]` in [0, 1) for
    object i; by default hues a golden angle apart), filled see-through with an opaque outline;
    the `uncounted` pixels (pieces of the mask no object holds: ml/uncounted.py) hatched grey,
    outlined light; transparent elsewhere."""
    labels = np.asarray(labels)
    if uncounted is not None and uncounted.any():
        extra = int(labels.max()) + 1
        if hues is not None:
            hues = np.append(np.asarray(hues, float)[:extra], 0.0)
        rgba = object_colours(np.where(uncounted, extra, labels), hues=hues)
        yy, xx = np.nonzero(uncounted)
        light = ((yy + xx) // STRIPE) % 2 == 0
        edge = rgba[yy, xx, 3] == OUTLINE_ALPHA
        rgba[yy, xx, :3] = np.where(light | edge, UNCOUNTED_LIGHT, UNCOUNTED_DARK)[:, None]
        rgba[yy, xx, 3] = np.where(edge, OUTLINE_ALPHA, UNCOUNTED_ALPHA)
        return rgba
    if hues is None:
        hues = (np.arange(int(labels.max()) + 1) * GOLDEN) % 1.0
    lut = np.zeros((len(hues), 4), np.uint8)
    lut[:, :3] = _hsv_to_rgb(hues)
    lut[:, 3] = FILL_ALPHA
    lut[0] = 0
    rgba = lut[labels]
    edge = np.zeros(labels.shape, bool)
    edge[1:] |= labels[1:] != labels[:-1]
    edge[:-1] |= labels[:-1] != labels[1:]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    rgba[..., 3] = np.where(edge & (labels > 0), OUTLINE_ALPHA, rgba[..., 3])
    return rgba


def _hsv_to_rgb(hues: np.ndarray) -> np.ndarray:
    """Bright, saturated colours of the given hues in [0, 1): (n, 3) uint8."""
    k = (np.array([5.0, 3.0, 1.0]) + hues[:, None] * 6) % 6
    return ((1 - 0.8 * np.clip(np.minimum(k, 4 - k), 0, 1)) * 255).astype(np.uint8)


def following_hues(labels: np.ndarray, before: tuple[np.ndarray, np.ndarray] | None,
                   first: int) -> np.ndarray:
    """The hue of each object of `labels` (index 0 unused): that of the object it overlaps most
    in `before` ((labels, hues) of the same plane's last objects; None: none), so an object keeps
    its colour while training refines it; where two take the same one, the larger overlap keeps
    it. The others take the golden-ratio steps from `first` on (the first step no object shown
    so far took)."""
    n = int(labels.max())
    hues = ((np.arange(n + 1) + first) * GOLDEN) % 1.0
    if before is None or n == 0 or before[0].shape != labels.shape:
        return hues
    old, old_hues = before
    both = (labels > 0) & (old > 0)
    m = int(old.max()) + 1
    pairs = np.bincount(labels[both].astype(np.int64) * m + old[both], minlength=(n + 1) * m).reshape(n + 1, m)
    best, overlap = pairs.argmax(axis=1), pairs.max(axis=1)
    taken = set()
    for new in np.argsort(-overlap, kind="stable"):
        if new and overlap[new] and best[new] not in taken and best[new] < len(old_hues):
            hues[new] = old_hues[best[new]]
            taken.add(best[new])
    return hues


def find_plane_objects(key, mask, probabilities, image, k, size, pixel_size, names,
                       boundary=None, before=None, first: int = 0) -> Iterator[tuple]:
    """Worker generator: one item (key, PlaneObjects, their colour picture, their hues); names:
    the classes'; boundary: the prediction's (gui/viewer/predictions.py); before, first: the
    (labels, hues) last shown for this plane, whose colours the objects keep, and the first hue
    step new ones take (following_hues)."""
    from unet_studio.core.class_templates import border_class
    from unet_studio.workflow.object_export import plane_objects

    found = plane_objects(mask, probabilities, image, k, object_size=size, pixel_size=pixel_size,
                          class_name=names[k - 1], border_class=border_class(names), boundary=boundary)
    hues = following_hues(found.labels, before, first)
    yield (key, found, object_colours(found.labels, found.uncounted, hues), hues)


def find_time_point_objects(key, plane_key, model, stack, t: int, k: int, size) -> Iterator:
    """Worker generator: the fraction done while the slices are predicted, then (key, plane_key,
    TimePointObjects, the colour picture of slice plane_key's z)."""
    from unet_studio.workflow.objects_3d import time_point_objects

    for item in time_point_objects(model, stack, t, k, size):
        if isinstance(item, float):
            yield item
        else:
            yield (key, plane_key, item, _slice_colours(item, plane_key[2]))


def slice_of(key, plane_key, found) -> Iterator[tuple]:
    """Worker generator: slice plane_key's z of 3-D objects already found, coloured."""
    yield (key, plane_key, found, _slice_colours(found, plane_key[2]))


def _slice_colours(found, z: int) -> np.ndarray:
    """The colour picture of slice z of 3-D objects (workflow/objects_3d.TimePointObjects)."""
    return object_colours(found.labels[z], None if found.uncounted is None else found.uncounted[z])


class ObjectsLayer(pg.ImageItem):
    """The objects of the shown plane over the image (above the predicted classes)."""

    def __init__(self):
        super().__init__()
        self.setZValue((Z_MASK + Z_LABELS) / 2)

    def set_picture(self, rgba: np.ndarray | None) -> None:
        if rgba is None:
            self.clear()
        else:
            self.setImage(rgba, autoLevels=False, levels=None)   # uint8 RGBA as it is: no rescaling pass


class ObjectsController(QObject):
    """Finds the shown plane's objects for the objects panel; `labels` holds the latest ones
    ((Y, X) int32, or None) for the plane `labels_plane`, `uncounted` the pieces of the mask
    they leave out ((Y, X) bool, or None)."""

    def __init__(self, pool: WorkerPool, panel, canvas, parent=None):
        super().__init__(parent)
        self.pool = pool
        self.panel = panel
        self.canvas = canvas
        self.document = None
        self.labels = self.uncounted = None
        self._hues = None    # the colours of the objects in `labels`, for the next ones to keep
        self._next_hue = 0   # the first golden-ratio hue step no object shown has taken
        self.labels_plane = None
        self._worker: GeneratorWorker | None = None
        self._pending = False
        self.training = False
        self._live_after = 0.0    # _now() before which no objects are found while training
        self._started = 0.0
        self._wait = QTimer(self, singleShot=True)
        self._wait.timeout.connect(self.request)
        self._disconnect = None
        self.layer = ObjectsLayer()
        self.layer.setVisible(False)
        canvas.view.addItem(self.layer)
        panel.shown_changed.connect(self.show_layer)
        panel.class_chosen.connect(self.request_now)
        panel.size_changed.connect(self.request_now)
        panel.object_clicked.connect(self.centre_on)
        panel.joined_changed.connect(self.request_now)
        self._joined = None   # (key, TimePointObjects): the 3-D objects last found

    def set_document(self, document) -> None:
        if self._disconnect is not None:
            self._disconnect()
            self._disconnect = None
        if self._worker is not None:
            self._worker.stop()
        self._wait.stop()
        self.document = document
        self.labels = self.labels_plane = self.uncounted = self._joined = None
        self.layer.set_picture(None)
        if document is not None:
            document.plane_changed.connect(self.request)
            document.predictions_changed.connect(self.request)
            self._disconnect = document.labels.on_classes_changed(self._classes_changed)
            self.panel.set_slices(document.stack.n_z)
            self._classes_changed()
        else:
            self.panel.set_slices(1)
            self.panel.show_objects(None, None)

    def _classes_changed(self) -> None:
        self.panel.set_classes([c.name for c in self.document.labels.classes])
        self.request()

    @Slot(bool)
    def set_training(self, running: bool) -> None:
        """True while training runs: objects are found only while shown, paced (module docstring)."""
        self.training = running
        self._wait.stop()
        self._live_after = _now() + LIVE_FROM if running else 0.0
        if running and not self.layer.isVisible():
            self.panel.count.setText(WAITING)
        elif not running:
            self.request()   # the objects shown are the prediction's: the previews bring new ones

    @Slot()
    def request_now(self, *_args) -> None:
        """`request`, not held back by the pace while training runs: the user asked."""
        self._live_after = 0.0
        self.request()

    @Slot()
    def request(self, *_args) -> None:
        """Find the objects of the shown plane again (after the running job, if any)."""
        document = self.document
        if document is None:
            return
        if self.training and not self.layer.isVisible():
            self.panel.count.setText(WAITING)
            return
        if self._worker is not None:
            self._pending = True
            return
        t, z, k = document.t, document.z, self.panel.chosen_class
        joined = self.panel.joins_slices and 1 <= k <= len(document.labels.classes)
        if self.training and joined:
            self.panel.count.setText(WAITING_3D)
            return
        other_plane = self.labels_plane is not None and self.labels_plane != (t, z)
        if self.training and not other_plane and _now() < self._live_after:
            self._wait.start(max(1, int(1000 * (self._live_after - _now()))))
            return
        self._started = _now()
        if joined:
            self._request_joined(document, t, z, k)
            return
        mask = document.predictions.mask(t, z)
        if mask is None or not 1 <= k <= len(document.labels.classes):
            self.labels = self.labels_plane = self.uncounted = None
            self.layer.set_picture(None)
            self.panel.show_objects(None, None)
            return
        entry = document.predictions.plane(t, z)
        probabilities = entry.probabilities if entry is not None and entry.probabilities.shape[0] >= k else None
        stack = document.stack
        pixel_size = Calibration.of(stack).pixel_size_um   # the table's areas are in µm²
        boundary = entry.boundary if probabilities is not None else None
        before = (self.labels, self._hues) if self.labels_plane == (t, z) and self._hues is not None else None
        arguments = ((document, t, z), mask.copy(), probabilities, document.plane(), k,
                     self.panel.object_size, pixel_size, [c.name for c in document.labels.classes], boundary,
                     before, self._next_hue)
        worker = GeneratorWorker(lambda: find_plane_objects(*arguments), name="find-objects")
        worker.yielded.connect(self._on_result)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.pool.start(worker)

    def _request_joined(self, document, t: int, z: int, k: int) -> None:
        """The 3-D objects of the shown time point (found once per model, class and size), shown
        at the shown slice."""
        model = document.model
        if model is None:
            self.labels = self.labels_plane = self.uncounted = None
            self.layer.set_picture(None)
            self.panel.show_objects(None, None)
            self.panel.count.setText("3-D objects need a model: train, or choose one")
            return
        size = self.panel.object_size
        key, plane_key = (document, model, t, k, size), (document, t, z)
        if self._joined is not None and self._joined[0] == key:
            job, arguments = slice_of, (key, plane_key, self._joined[1])
        else:
            job, arguments = find_time_point_objects, (key, plane_key, model, document.stack, t, k, size)
        worker = GeneratorWorker(lambda: job(*arguments), name="find-objects")
        worker.yielded.connect(self._on_joined)
        worker.failed.connect(self.panel.count.setText)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.pool.start(worker)

    @Slot(object)
    def _on_joined(self, item) -> None:
        if isinstance(item, float):
            self.panel.count.setText(f"Predicting every slice for 3-D objects: {item:.0%}")
            return
        key, (document, t, z), found, picture = item
        self._joined = (key, found)
        if document is not self.document or (t, z) != (document.t, document.z):
            return   # the plane moved on: the pending request shows the new one
        self.labels, self.labels_plane, self._hues = found.labels[z], (t, z), None
        self.uncounted = None if found.uncounted is None else found.uncounted[z]
        self.layer.set_picture(picture)
        stack = document.stack
        self.panel.show_objects(found.table, found.object_size, stack.pixel_size or None, stack.unit,
                                where="in this time point, joined across slices", uncounted=found.n_uncounted,
                                channels=stack.channel_names)

    @Slot(object)
    def _on_result(self, item: tuple) -> None:
        (document, t, z), found, picture, hues = item
        if document is not self.document or (t, z) != (document.t, document.z):
            return   # the plane moved on: the pending request finds the new one
        self.labels, self.labels_plane, self.uncounted = found.labels, (t, z), found.uncounted
        self._hues = hues
        self._next_hue += len(hues)
        self.layer.set_picture(picture)
        stack = document.stack
        self.panel.show_objects(found.table, found.object_size, stack.pixel_size or None, stack.unit,
                                uncounted=found.n_uncounted, channels=stack.channel_names)

    @Slot()
    def _on_finished(self) -> None:
        self._worker = None
        if self.training:
            now = _now()
            self._live_after = now + (now - self._started) * (1 - LIVE_SHARE) / LIVE_SHARE
        if self._pending:
            self._pending = False
            self.request()

    def describe(self, t: int, z: int, y: int, x: int) -> str:
        """The status bar's word on pixel (y, x) of plane (t, z) while the objects are shown:
        "object 12", "not counted" (a hatched piece) or nothing."""
        if not self.layer.isVisible() or self.labels is None or self.labels_plane != (t, z):
            return ""
        if self.labels[y, x]:
            return f"object {int(self.labels[y, x])}"
        return "not counted" if self.uncounted is not None and self.uncounted[y, x] else ""

    @Slot(bool)
    def show_layer(self, shown: bool) -> None:
        """The objects view: each object its own colour over the image, instead of the classes."""
        self.layer.setVisible(shown)
        self.canvas.mask_layer.setVisible(not shown)
        if self.training:
            self.request_now()

    @Slot(dict)
    def centre_on(self, row: dict) -> None:
        """Centre the view on an object of the table (zoomed to show it with its surroundings),
        at the slice of its centre for an object joined across slices."""
        if "centroid_z" in row and self.document is not None:
            self.document.set_plane(self.document.t, int(round(float(row["centroid_z"]))))
        y, x = float(row["centroid_y"]) + 0.5, float(row["centroid_x"]) + 0.5   # pixel centre
        diameter = float(row.get("equivalent_diameter_px", 10.0))
        (x0, x1), (y0, y1) = self.canvas.view.viewRange()
        span = min(max(x1 - x0, y1 - y0), max(6 * diameter, 64.0))
        span = max(span, 2 * diameter)
        self.canvas.view.setRange(QRectF(x - span / 2, y - span / 2, span, span), padding=0)
