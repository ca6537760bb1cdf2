"""What the export tests share: a small untrained network with three classes."""
from __future__ import annotations

import pytest

CLASSES = ["background", "nuclei", "edges"]


@pytest.fixture(scope="module")
def model():
    """An untrained 3-class network (the files are checked, not the quality)."""
    import torch

    from unet_studio.ml.model_file import Model, class_dicts
    from unet_studio.ml.unet import UNet

    torch.manual_seed(0)
    return Model(UNet(1, 3, depth=2, width=4).eval(), class_dicts(CLASSES))
