"""Shared test setup: no display is needed, and no test may wait on a real screen; one tiny
model trained once per session, for the engine and workflow tests."""
from __future__ import annotations

import os

import pytest

# Must be set before any Qt import (pytest-qt creates the QApplication lazily).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests run on small shared machines: keep numerical libraries from starting a thread
# per core in every test process.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def blob_training():
    """(image, truth, labels) of a 96 x 96 synthetic training image."""
    from tests.ml.synthetic import blobs, scribbles

    image, truth = blobs(96, 8, seed=1)
    return image, truth, scribbles(truth, seed=1)


@pytest.fixture(scope="session")
def trained_model(blob_training):
    """A model trained for 150 steps on the blob image (seeded)."""
    from tests.ml.conftest import TINY
    from unet_studio.ml.train import TrainConfig, train

    image, _, labels = blob_training
    progress = None
    for progress in train([image], [labels], ["background", "blob"],
                          TrainConfig(steps=150, seed=0, **TINY)):
        pass
    assert progress is not None and progress.done
    return progress.model
