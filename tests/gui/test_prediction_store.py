"""The app's predictions per plane keep the starting model's boundary beside the classes, whole
planes and regions alike, for the Objects panel."""
from __future__ import annotations

import numpy as np

from unet_studio.gui.viewer.predictions import PredictionStore


def _maps(h, w, value):
    probabilities = np.full((2, h, w), 0.5, np.float32)
    return probabilities, np.ones((h, w), np.uint8), np.zeros((h, w), np.float32), np.full((h, w), value, np.float32)


def test_a_plane_keeps_its_boundary_whole_or_region_by_region():
    store = PredictionStore((20, 30))
    probabilities, mask, uncertainty, boundary = _maps(20, 30, 0.7)
    store.put_plane(0, 0, probabilities, mask, uncertainty, boundary=boundary)
    assert store.plane(0, 0).boundary is boundary
    probabilities, mask, uncertainty, boundary = _maps(5, 10, 0.9)
    store.put_plane(0, 1, probabilities, mask, uncertainty, region=(0, 5, 10, 20), boundary=boundary)
    kept = store.plane(0, 1).boundary
    assert kept.shape == (20, 30) and (kept[0:5, 10:20] == 0.9).all() and kept.sum() == np.float32(0.9) * 50
    # A model without the starting model's layer: the plane's boundary goes with its old prediction.
    store.put_plane(0, 1, probabilities, mask, uncertainty, region=(0, 5, 10, 20))
    assert store.plane(0, 1).boundary is None
