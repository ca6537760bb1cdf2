"""The 4-view prediction a user's export should hold, computed without the 4-view code path:
the plane, flipped each of the four ways, predicted with one view, flipped back and averaged."""
from __future__ import annotations

import numpy as np


def four_view_probabilities(model, plane: np.ndarray, stack) -> np.ndarray:
    """(K, Y, X) float32 for a (Y, X) `plane` of `stack` (whose normalisation is used)."""
    from unet_studio.ml.normalise import measure_normalisation
    from unet_studio.ml.predict import predict_plane

    norm = measure_normalisation(stack)
    views = []
    for axes in [(), (1,), (0,), (0, 1)]:
        flipped = np.ascontiguousarray(np.flip(plane, axes))
        probs = predict_plane(model, flipped, normalisation=norm, views=1).probabilities
        views.append(np.flip(probs, tuple(a + 1 for a in axes)))
    return np.mean(views, axis=0)
