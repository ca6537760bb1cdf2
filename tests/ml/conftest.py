"""Shared fixtures for the engine tests: one tiny model trained once per session."""
from __future__ import annotations

import numpy as np
import pytest

from .synthetic import blobs, scribbles

# Tiny on purpose: the whole ml suite must run in about a minute on 2 shared cores.
TINY = dict(width=8, depth=3, batch=4, patch=64)


@pytest.fixture(scope="session")
def blob_training():
    """(image, truth, labels) of a 96 x 96 synthetic training image."""
    image, truth = blobs(96, 8, seed=1)
    return image, truth, scribbles(truth, seed=1)


@pytest.fixture(scope="session")
def trained_model(blob_training):
    """A model trained for 150 steps on the blob image (seeded)."""
    from unet_studio.ml.train import TrainConfig, train

    image, _, labels = blob_training
    progress = None
    for progress in train([image], [labels], ["background", "blob"],
                          TrainConfig(steps=150, seed=0, **TINY)):
        pass
    assert progress is not None and progress.done
    return progress.model


@pytest.fixture
def rng():
    return np.random.default_rng(0)
