"""The live preview while training: the plane (or part of it) the user is looking at,
predicted with the weights the user sees."""
from __future__ import annotations

from typing import TYPE_CHECKING

from unet_studio.ml.predict import Prediction, predict_plane
from unet_studio.ml.tiling import prepare_inference

if TYPE_CHECKING:
    from unet_studio.ml.data import TrainingSet
    from unet_studio.ml.model_file import Model


def live_preview(model: Model, data: TrainingSet, request: tuple, device) -> Prediction | None:
    """Predict the requested plane (or region of it) with the current weights; None if the
    request names a plane that does not exist (the view may have moved to another image)."""
    img_i, t, z = (int(v) for v in request[:3])
    region = tuple(request[3]) if len(request) > 3 and request[3] is not None else None
    if not 0 <= img_i < len(data.images):
        return None
    img = data.images[img_i]
    if not (0 <= t < img.n_t and 0 <= z < img.n_z):
        return None
    plane = img.plane(t, z)
    # One view: a live preview is soon replaced; training keeps its time.
    return predict_plane(model, plane, normalisation=data.normalisations[img_i], region=region,
                         inference=prepare_inference(model.net, device, views=1))
