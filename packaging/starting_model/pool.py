"""The DSB2018 pretraining pool, read once into memory as normalised grey images + targets.

Each image is made grey (the mean of its colour channels: the starting model has one input
channel; ml/starting_model.py spreads the first convolution over a user's channels the same
way) and scaled with the engine's percentile normalisation, so that fine-tuning sees inputs
scaled exactly like those the starting model was trained on. Polarity is left as it is
(bright fluorescent nuclei, dark stained or brightfield nuclei); inverting the dark ones was
not compared (no time): README.md gives the held-out scores per modality.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from unet_studio.ml.normalise import measure_normalisation
from synthetic import instance_target


@dataclass
class PoolImage:
    name: str
    image: np.ndarray    # (Y, X) float32, normalised (1st percentile -> 0, 99.8th -> 1)
    target: np.ndarray   # (Y, X) uint8: 1 background, 2 interior, 3 boundary
    modality: str        # "fluorescence" (bright objects), "tissue" (colour), "brightfield" (dark, grey)


def grey(image: np.ndarray) -> np.ndarray:
    """(Y, X) or (Y, X, C) -> (Y, X) float32, the mean over colour channels."""
    image = np.asarray(image, np.float32)
    return image.mean(axis=-1) if image.ndim == 3 else image


def normalised(image: np.ndarray) -> np.ndarray:
    """(Y, X) -> (Y, X) float32 scaled as the engine scales a one-channel image."""
    return measure_normalisation(image[None]).apply(image[None])[0]


def load_pool(folder: str | Path) -> list[PoolImage]:
    """All images of `folder`/images with their `folder`/instances, sorted by name."""
    folder = Path(folder)
    out = []
    for path in sorted((folder / "images").glob("*.tif")):
        raw = tifffile.imread(path)
        instances = tifffile.imread(folder / "instances" / path.name)
        g = grey(raw)
        fg = instances > 0
        bright = fg.any() and (~fg).any() and g[fg].mean() > g[~fg].mean()
        modality = "fluorescence" if bright else ("tissue" if raw.ndim == 3 else "brightfield")
        out.append(PoolImage(path.stem, normalised(g), instance_target(instances), modality))
    return out
