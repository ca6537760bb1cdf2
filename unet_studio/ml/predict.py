"""Prediction: class probabilities, masks, uncertainty and instances for planes and stacks.

Masks use the label values: mask value k is class k (= model.classes[k-1]), so a mask can be
loaded as labels and the other way round. Every 2-D plane of a stack is predicted on its own
(the network is 2-D); the stack's intensity normalisation is measured once, so all planes
are scaled alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from unet_studio.core.errors import ModelError
from unet_studio.ml.normalise import HIGH_PCT, LOW_PCT, Normalisation, measure_normalisation
from unet_studio.ml.objects import Parting, border_pixels, find_objects, parting
from unet_studio.ml.tiling import KEPT_VIEWS, iter_predict, prepare_inference


@dataclass
class Prediction:
    """The network's answer for one plane (or region of a plane).

    probabilities: (K, Y, X) float32, summing to 1 over K.
    mask: (Y, X) uint8, values 1..K (argmax + 1, same values as the labels).
    boundary: (Y, X) float32, the starting model's probability of an object boundary, from a
    network that keeps its output layer (ml/unet.py); None otherwise.
    """
    probabilities: np.ndarray
    mask: np.ndarray = field(default=None)  # type: ignore[assignment]
    boundary: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.mask is None:
            self.mask = (np.argmax(self.probabilities, axis=0) + 1).astype(np.uint8)

    @classmethod
    def of_outputs(cls, outputs: np.ndarray, n_classes: int) -> "Prediction":
        """From the maps a network's `probabilities` gives: (K [+ 1], Y, X)."""
        return cls(outputs[:n_classes], boundary=outputs[n_classes] if len(outputs) > n_classes else None)

    def objects_boundary(self, k: int, border_class: int | None = None) -> np.ndarray | None:
        """The boundary find_objects parts the objects of class k along (ml/objects.py's parting)."""
        return self._parting(k, border_class).boundary

    def _parting(self, k: int, border_class: int | None) -> Parting:
        return parting(self.boundary, border_class, self.mask == k, self.probabilities[k - 1])

    @property
    def n_classes(self) -> int:
        return self.probabilities.shape[0]

    def uncertainty(self) -> np.ndarray:
        """(Y, X) float32 in [0, 1]: entropy of the class probabilities / log K (1 = unsure)."""
        return entropy_map(self.probabilities)

    def instances(self, k: int, object_size: float | None = None,
                  border_class: int | None = None) -> np.ndarray:
        """(Y, X) int32 objects of class k: 0 elsewhere, 1..n one per object (ml/objects.py:
        specks dropped, holes filled and touching objects split, all scaled to the typical
        object diameter `object_size` in px, measured from the mask when None; the class's
        probability helps part touching objects; they grow into the pixels of `border_class`,
        the class of the borders between them, if there is one)."""
        if not 1 <= k <= self.n_classes:
            raise ValueError(f"class {k} does not exist (1..{self.n_classes})")
        parts = self._parting(k, border_class)
        return find_objects(self.mask == k, self.probabilities[k - 1],
                            object_size=parts.size if object_size is None else object_size,
                            borders=border_pixels(self.mask, border_class, k), boundary=parts.boundary,
                            parted_by=parts.parted_by)


def entropy_map(probabilities: np.ndarray) -> np.ndarray:
    """(K, Y, X) -> (Y, X) float32 normalised entropy."""
    k = probabilities.shape[0]
    if k < 2:
        return np.zeros(probabilities.shape[1:], np.float32)
    p = np.clip(probabilities, 1e-7, 1.0)
    return (-(p * np.log(p)).sum(axis=0) / np.log(k)).astype(np.float32)


def split_instances(foreground: np.ndarray, min_size: int = 4,
                    object_size: float | None = None) -> np.ndarray:
    """(Y, X) bool -> (Y, X) int32 labels: one per object, touching objects separated.

    ml/objects.find_objects without probabilities: specks dropped, holes filled and seeds
    scaled to the typical object diameter `object_size` (px; None: measured from the mask);
    no object is under min_size px.
    """
    return find_objects(foreground, object_size=object_size, min_size=min_size)


def normalisation_for(model, source: Any) -> Normalisation:
    """The intensity scaling of `source` (a Stack or a plane) as `model` was trained to read it:
    the percentiles its file names, measured on this image."""
    settings = model.normalisation or {}
    return measure_normalisation(source, float(settings.get("low_pct", LOW_PCT)),
                                 float(settings.get("high_pct", HIGH_PCT)))


def _as_cyx(plane: np.ndarray) -> np.ndarray:
    plane = np.asarray(plane)
    return plane[None] if plane.ndim == 2 else plane


def _check_channels(model, n_channels: int) -> None:
    if n_channels != model.in_channels:
        raise ModelError(f"the model expects images with {model.in_channels} channel(s), "
                         f"this image has {n_channels}")


def predict_plane(model, plane: np.ndarray, *, normalisation: Normalisation | None = None,
                  device: Any = None, region: tuple[int, int, int, int] | None = None,
                  inference=None, views: int = KEPT_VIEWS) -> Prediction:
    """Predict one plane (C, Y, X) or (Y, X) of any size.

    normalisation: the image's Normalisation (measure_normalisation(stack)); None measures
    this plane. device: where to run (None: where the model is). region (y0, y1, x0, x1):
    predict only that part; pixels around it are used as context; the Prediction is shaped
    like the region. inference: a prepared InferenceNet to reuse (internal). views: mirrored
    views averaged (ml/tiling.py; 1 is fastest), unless `inference` is given.
    """
    plane = _as_cyx(plane)
    _check_channels(model, plane.shape[0])
    norm = normalisation or normalisation_for(model, plane)
    if region is not None:
        plane, crop = _with_context(plane, region, context=96)
    x = norm.apply(plane)
    inf = inference or prepare_inference(model.net, device, views=views)
    probs = np.empty((inf.net.n_outputs,) + x.shape[1:], np.float32)
    for _ in iter_predict(inf, x, probs):
        pass
    if region is not None:
        probs = np.ascontiguousarray(probs[(slice(None),) + crop])
    return Prediction.of_outputs(probs, model.n_classes)


def _with_context(plane: np.ndarray, region: tuple[int, int, int, int], context: int):
    """The region plus up to `context` px around it, and where the region lies in that crop."""
    _, height, width = plane.shape
    y0, y1, x0, x1 = (int(v) for v in region)
    y0, x0 = max(0, min(y0, height - 1)), max(0, min(x0, width - 1))
    y1, x1 = max(y0 + 1, min(y1, height)), max(x0 + 1, min(x1, width))
    cy0, cx0 = max(0, y0 - context), max(0, x0 - context)
    cy1, cx1 = min(height, y1 + context), min(width, x1 + context)
    return plane[:, cy0:cy1, cx0:cx1], (slice(y0 - cy0, y1 - cy0), slice(x0 - cx0, x1 - cx0))


@dataclass
class StackPrediction:
    """Results for a whole stack, shaped like its label volume (axes = stack.label_axes)."""
    axes: str
    mask: np.ndarray                        # label_shape uint8, 0 = not predicted yet
    probabilities: np.ndarray | None = None  # label_shape[:-2] + (K, Y, X) float32
    instances: np.ndarray | None = None      # label_shape int32, numbered per plane
    uncertainty: np.ndarray | None = None    # label_shape float32

    @property
    def probability_axes(self) -> str:
        return self.axes[:-2] + "CYX"


@dataclass
class PredictProgress:
    """One step of predict_stack: `result` fills up plane by plane; complete when done."""
    fraction: float
    plane: tuple[int, int]
    result: StackPrediction
    done: bool = False


def plane_index(axes: str, t: int, z: int) -> tuple[int, ...]:
    """Index of plane (t, z) in an array with label axes such as "TZYX", "ZYX", "YX"."""
    index: tuple[int, ...] = ()
    if "T" in axes:
        index += (t,)
    if "Z" in axes:
        index += (z,)
    return index


@dataclass
class PlanePart:
    """A complete part of a plane predicted in parts: its `rows` x `cols` of the plane;
    `last`: the plane is complete with it."""
    rows: slice
    cols: slice
    prediction: Prediction
    last: bool


@dataclass
class PlaneProgress:
    """One step of predict_planes: `prediction` is set once plane (t, z) is complete, with the
    `image` (C, Y, X) it was predicted from (read once, for who measures intensities), or
    `part` for each complete part of a plane predicted in parts."""
    fraction: float
    plane: tuple[int, int]
    prediction: Prediction | None = None
    part: PlanePart | None = None
    image: np.ndarray | None = None


def predict_planes(model, stack, *, device: Any = None, normalisation: Normalisation | None = None,
                   views: int = KEPT_VIEWS, in_parts: bool = False,
                   planes: list[tuple[int, int]] | None = None, inference=None) -> Iterator[PlaneProgress]:
    """Predict every (t, z) plane of `stack` in order (t-major), yielding progress after each
    batch of tiles and each finished plane's Prediction; nothing is kept between planes, so
    memory stays at one plane whatever the stack's length. in_parts: planes too large to read
    whole (stack.read_in_parts) come as PlaneParts instead, the same numbers (ml/plane_parts.py),
    with memory bounded by the plane's width. planes: only these (t, z) (None: all); the
    fractions are of them. inference: a prepared InferenceNet of `model` to reuse (a batch of
    images prepares one; `device` and `views` are its own then). Stop iterating to cancel."""
    _check_channels(model, stack.n_c)
    norm = normalisation or normalisation_for(model, stack)
    inf = inference or prepare_inference(model.net, device, views=views)
    planes = planes if planes is not None else [(t, z) for t in range(stack.n_t) for z in range(stack.n_z)]
    for i, (t, z) in enumerate(planes):
        if in_parts and stack.read_in_parts:
            yield from _plane_in_parts(inf, stack, t, z, norm, i, len(planes))
            continue
        image = _as_cyx(stack.plane(t, z))
        x = norm.apply(image)
        probs = np.empty((inf.net.n_outputs,) + x.shape[1:], np.float32)
        for fraction in iter_predict(inf, x, probs):
            if fraction < 1.0:
                yield PlaneProgress((i + fraction) / len(planes), (t, z))
        yield PlaneProgress((i + 1) / len(planes), (t, z), Prediction.of_outputs(probs, model.n_classes),
                            image=image)


def _plane_in_parts(inf, stack, t: int, z: int, norm: Normalisation, i: int,
                    n_planes: int) -> Iterator[PlaneProgress]:
    from unet_studio.ml.plane_parts import predict_in_parts

    height, width = stack.plane_shape
    fraction = i / n_planes
    for item in predict_in_parts(inf, lambda rows, cols: stack.region(t, z, rows, cols),
                                 height, width, norm.apply):
        if isinstance(item, float):
            fraction = (i + item) / n_planes
            yield PlaneProgress(fraction, (t, z))
            continue
        last = item.rows.stop == height and item.cols.stop == width
        part = PlanePart(item.rows, item.cols, Prediction.of_outputs(item.probabilities, inf.net.n_classes), last)
        yield PlaneProgress((i + 1) / n_planes if last else fraction, (t, z), part=part)


def predict_stack(model, stack, *, device: Any = None, probabilities: bool = False,
                  instances_class: int | None = None, uncertainty: bool = False,
                  normalisation: Normalisation | None = None,
                  views: int = KEPT_VIEWS) -> Iterator[PredictProgress]:
    """Predict every (t, z) plane of `stack` (a core Stack), yielding progress after each batch
    of tiles; stop iterating to cancel. The last item has done=True and the full result, held
    in memory (workflow/export.py writes files plane by plane instead).
    views: mirrored views averaged (ml/tiling.py; 1 is fastest)."""
    _check_channels(model, stack.n_c)
    if instances_class is not None and not 1 <= instances_class <= model.n_classes:
        raise ModelError(f"class {instances_class} does not exist in this model (1..{model.n_classes})")
    shape = tuple(stack.label_shape)
    axes = stack.label_axes
    result = StackPrediction(axes, np.zeros(shape, np.uint8))
    if probabilities:
        result.probabilities = np.zeros(shape[:-2] + (model.n_classes,) + shape[-2:], np.float32)
    if instances_class is not None:
        result.instances = np.zeros(shape, np.int32)
    if uncertainty:
        result.uncertainty = np.zeros(shape, np.float32)
    n_planes = stack.n_t * stack.n_z
    done = 0
    for step in predict_planes(model, stack, device=device, normalisation=normalisation, views=views):
        pred = step.prediction
        if pred is None:
            yield PredictProgress(step.fraction, step.plane, result)
            continue
        index = plane_index(axes, *step.plane)
        result.mask[index] = pred.mask
        if result.probabilities is not None:
            result.probabilities[index] = pred.probabilities
        if result.instances is not None:
            result.instances[index] = pred.instances(instances_class)
        if result.uncertainty is not None:
            result.uncertainty[index] = pred.uncertainty()
        done += 1
        yield PredictProgress(step.fraction, step.plane, result, done=done == n_planes)
