"""The predictions the GUI has received for an image, per plane, ready to show.

Two sources fill it: training previews and single-plane predictions (full `Prediction`s, or a
region of one, pasted into a plane-sized buffer), and "predict all" (a `StackPrediction` with
the mask of every plane). Plane results win over the stack result because they are newer.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

# Full probability maps are big (K x Y x X float32); keep those of the planes seen last only.
MAX_PLANES_KEPT = 12


@dataclass
class PlanePrediction:
    """What is known for one plane: `mask` (Y, X) uint8 class 1..K (0 = not predicted),
    `probabilities` (K, Y, X) float32, `uncertainty` (Y, X) float32 in [0, 1] and the starting
    model's `boundary` (Y, X) float32 where the model keeps it (ml/predict.py), else None."""

    mask: np.ndarray
    probabilities: np.ndarray
    uncertainty: np.ndarray
    boundary: np.ndarray | None = None


class PredictionStore:
    """Predictions of one image, by plane (t, z)."""

    def __init__(self, plane_shape: tuple[int, int]):
        self.plane_shape = tuple(plane_shape)
        self._planes: OrderedDict[tuple[int, int], PlanePrediction] = OrderedDict()
        self._stack = None  # StackPrediction from predict_stack, masks of every plane

    def clear(self) -> None:
        self._planes.clear()
        self._stack = None

    def put_plane(self, t: int, z: int, probabilities: np.ndarray, mask: np.ndarray,
                  uncertainty: np.ndarray, region: tuple[int, int, int, int] | None = None,
                  boundary: np.ndarray | None = None) -> None:
        """Store a plane prediction: arrays are the whole plane, or `region` (y0, y1, x0, x1)."""
        key = (t, z)
        k = probabilities.shape[0]
        entry = self._planes.get(key)
        if region is None:
            entry = PlanePrediction(mask, probabilities, uncertainty, boundary)
        else:
            if entry is None or entry.probabilities.shape[0] != k or (entry.boundary is None) != (boundary is None):
                entry = self._empty(k, boundary is not None)
            y0, y1, x0, x1 = region
            entry.mask[y0:y1, x0:x1] = mask
            entry.probabilities[:, y0:y1, x0:x1] = probabilities
            entry.uncertainty[y0:y1, x0:x1] = uncertainty
            if boundary is not None:
                entry.boundary[y0:y1, x0:x1] = boundary
        self._planes[key] = entry
        self._planes.move_to_end(key)
        while len(self._planes) > MAX_PLANES_KEPT:
            self._planes.popitem(last=False)

    def _empty(self, k: int, boundary: bool) -> PlanePrediction:
        h, w = self.plane_shape
        return PlanePrediction(np.zeros((h, w), np.uint8), np.zeros((k, h, w), np.float32),
                               np.zeros((h, w), np.float32), np.zeros((h, w), np.float32) if boundary else None)

    def put_stack(self, stack_prediction) -> None:
        """The result of predict_stack: it replaces every plane result (it is newer)."""
        self._planes.clear()
        self._stack = stack_prediction

    @property
    def stack_result(self):
        return self._stack

    def plane(self, t: int, z: int) -> PlanePrediction | None:
        return self._planes.get((t, z))

    def mask(self, t: int, z: int) -> np.ndarray | None:
        """(Y, X) uint8 predicted classes of plane (t, z), or None if never predicted."""
        entry = self._planes.get((t, z))
        if entry is not None:
            return entry.mask
        if self._stack is not None:
            mask = _plane_of(self._stack.mask, self._stack.axes, t, z)
            if mask.any():
                return mask
        return None

    def probability(self, t: int, z: int, k: int) -> np.ndarray | None:
        """(Y, X) float32 probability of class k (1-based), or None if not known."""
        entry = self._planes.get((t, z))
        if entry is not None and 1 <= k <= entry.probabilities.shape[0]:
            return entry.probabilities[k - 1]
        return None

    def uncertainty(self, t: int, z: int) -> np.ndarray | None:
        entry = self._planes.get((t, z))
        return None if entry is None else entry.uncertainty

    def __bool__(self) -> bool:
        return bool(self._planes) or self._stack is not None


def _plane_of(volume: np.ndarray, axes: str, t: int, z: int) -> np.ndarray:
    index = ((t,) if "T" in axes else ()) + ((z,) if "Z" in axes else ())
    return volume[index]
