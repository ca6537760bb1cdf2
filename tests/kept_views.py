"""The prediction a user's export should hold, computed without the multi-view code path: the
plane as it is and turned half a turn (flipped both ways), each predicted with one view, the
second turned back, averaged."""
from __future__ import annotations

import numpy as np


def kept_view_probabilities(model, plane: np.ndarray, stack) -> np.ndarray:
    """(K, Y, X) float32 for a (Y, X) `plane` of `stack` (whose normalisation is used)."""
    from unet_studio.ml.normalise import measure_normalisation
    from unet_studio.ml.predict import predict_plane

    norm = measure_normalisation(stack)
    views = []
    for axes in [(), (0, 1)]:
        turned = np.ascontiguousarray(np.flip(plane, axes))
        probs = predict_plane(model, turned, normalisation=norm, views=1).probabilities
        views.append(np.flip(probs, tuple(a + 1 for a in axes)))
    return np.mean(views, axis=0)
