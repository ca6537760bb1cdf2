"""Prediction: tiles leave no seams, masks use label values, stacks are done plane by plane."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unet_studio.core.stack import Stack
from unet_studio.ml.model_file import Model, class_dicts
from unet_studio.ml.normalise import measure_normalisation
from unet_studio.ml.predict import Prediction, predict_plane, predict_stack, split_instances
from unet_studio.ml.tiling import KEPT_VIEWS, prepare_inference
from unet_studio.ml.unet import UNet

from .synthetic import blobs, iou


def _random_model(padding="same", n_classes=3, depth=3, in_channels=1) -> Model:
    torch.manual_seed(0)
    net = UNet(in_channels, n_classes, depth=depth, width=8, padding=padding)
    # Untrained BatchNorm statistics would make every pixel look alike; give them some spread.
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.2)
            m.running_var.uniform_(0.3, 2.0)
    return Model(net.eval(), class_dicts(["a", "b", "c"][:n_classes]))


def test_tiled_prediction_matches_whole_image_prediction(trained_model):
    image, _ = blobs(200, 30, seed=3)
    model = trained_model
    whole = predict_plane(model, image, inference=prepare_inference(model.net, "cpu", torch.float32, tile=512))
    tiled = predict_plane(model, image, inference=prepare_inference(model.net, "cpu", torch.float32, tile=128))
    assert tiled.probabilities.shape == (2, 200, 200)
    assert np.abs(tiled.probabilities - whole.probabilities).mean() < 0.005
    assert np.abs(tiled.probabilities - whole.probabilities).max() < 0.1
    assert (tiled.mask == whole.mask).mean() > 0.995


def test_valid_padding_overlap_tile_equals_whole_image(rng):
    model = _random_model(padding="valid", n_classes=2, depth=2)
    image = rng.normal(size=(77, 101)).astype(np.float32)
    whole = predict_plane(model, image, inference=prepare_inference(model.net, "cpu", torch.float32, tile=512))
    tiled = predict_plane(model, image, inference=prepare_inference(model.net, "cpu", torch.float32, tile=64))
    # The output is cropped back to the image size even though the network's output is smaller.
    assert whole.probabilities.shape == tiled.probabilities.shape == (2, 77, 101)
    assert np.abs(tiled.probabilities - whole.probabilities).max() < 1e-4


def test_views_average_the_mirrored_predictions(rng):
    """96 px + 16 px mirrored on each side is one 128 px tile, laid out alike on a flipped image,
    so flipping the image flips that tile. An untrained network does not answer a flipped
    image with a flipped answer; the mean of the four mirrored views does, and the kept two
    (as is, half a turn) answer a half-turned image with the half-turned answer."""
    model = _random_model(n_classes=2)
    image = rng.normal(size=(96, 96)).astype(np.float32)
    norm = measure_normalisation(image)

    def predict(img, views):
        inference = prepare_inference(model.net, "cpu", torch.float32, views=views)
        return predict_plane(model, np.ascontiguousarray(img), normalisation=norm, inference=inference).probabilities

    one = {flips: np.flip(predict(np.flip(image, flips), 1), tuple(a + 1 for a in flips))
           for flips in [(), (1,), (0,), (0, 1)]}
    four = predict(image, 4)
    np.testing.assert_allclose(four, np.mean(list(one.values()), axis=0), atol=1e-5)
    np.testing.assert_allclose(np.flip(predict(np.flip(image, 1), 4), 2), four, atol=1e-5)
    assert np.abs(one[(1,)] - one[()]).max() > 0.01
    two = predict(image, KEPT_VIEWS)
    np.testing.assert_allclose(two, (one[()] + one[(0, 1)]) / 2, atol=1e-5)
    np.testing.assert_allclose(np.flip(predict(np.flip(image, (0, 1)), KEPT_VIEWS), (1, 2)), two, atol=1e-5)
    with pytest.raises(ValueError):
        prepare_inference(model.net, "cpu", views=5)


def test_probabilities_sum_to_one_and_mask_uses_label_values(trained_model):
    image, truth = blobs(80, 6, seed=5)
    pred = predict_plane(trained_model, image)
    assert pred.probabilities.dtype == np.float32
    assert np.allclose(pred.probabilities.sum(axis=0), 1.0, atol=1e-4)
    assert set(np.unique(pred.mask)) <= {1, 2}
    assert iou(pred.mask == 2, truth) > 0.6
    u = pred.uncertainty()
    assert u.shape == image.shape and 0.0 <= u.min() and u.max() <= 1.0
    # Unsure pixels are at object edges, not in the middle of the background.
    edge = truth ^ np.roll(truth, 1, axis=0)
    assert u[edge].mean() > u[~truth].mean()


def test_region_prediction_matches_the_same_part_of_the_plane(trained_model):
    image, _ = blobs(96, 8, seed=6)
    full = predict_plane(trained_model, image)
    part = predict_plane(trained_model, image, region=(10, 60, 20, 90), normalisation=None)
    assert part.probabilities.shape == (2, 50, 70)
    assert (part.mask == full.mask[10:60, 20:90]).mean() > 0.97


def test_predict_stack_fills_every_plane_with_label_shaped_results(trained_model):
    planes = [blobs(64, 4, seed=s)[0] for s in range(6)]
    data = np.stack(planes).reshape(2, 3, 64, 64)
    stack = Stack.from_array(data, "TZYX")
    items = list(predict_stack(trained_model, stack, probabilities=True, instances_class=2, uncertainty=True))
    fractions = [p.fraction for p in items]
    assert fractions == sorted(fractions) and items[-1].done and fractions[-1] == 1.0
    result = items[-1].result
    assert result.mask.shape == (2, 3, 64, 64) and result.axes == "TZYX"
    assert result.probabilities.shape == (2, 3, 2, 64, 64) and result.probability_axes == "TZCYX"
    assert result.instances.shape == result.uncertainty.shape == (2, 3, 64, 64)
    assert result.mask.min() >= 1
    one = predict_plane(trained_model, planes[4], normalisation=None)
    assert (result.mask[1, 1] == one.mask).mean() > 0.95


def test_predict_stack_can_be_cancelled_between_tiles(trained_model):
    data = np.stack([blobs(64, 4, seed=s)[0] for s in range(5)])
    stack = Stack.from_array(data, "ZYX")
    gen = predict_stack(trained_model, stack)
    first = next(gen)
    gen.close()
    assert not first.done
    assert (first.result.mask[-1] == 0).all()   # the last plane was never predicted


def test_touching_discs_become_two_instances():
    yy, xx = np.mgrid[:60, :90]
    fg = ((yy - 30) ** 2 + (xx - 30) ** 2 <= 15 ** 2) | ((yy - 30) ** 2 + (xx - 56) ** 2 <= 13 ** 2)
    speck = (yy - 8) ** 2 + (xx - 80) ** 2 <= 4 ** 2
    fg |= speck
    # The 8 px disc is a speck beside the 26-30 px ones (ml/objects.py), unless the user says
    # objects are about 20 px across.
    assert split_instances(fg).max() == 2
    labels = split_instances(fg, object_size=20)
    assert labels.max() == 3
    assert len(np.unique(labels[fg])) == 3 and (labels[~fg] == 0).all()
    # A prediction unsure of the speck drops it; one as sure of it as of the discs keeps it.
    probability = np.where(speck, 0.7, fg).astype(np.float32)
    pred = Prediction(np.stack([1 - probability, probability]))
    assert pred.instances(2).max() == 2
    sure = Prediction(np.stack([~fg, fg]).astype(np.float32))
    assert sure.instances(2).max() == 3
    assert sure.instances(2, object_size=20).max() == 3
    with pytest.raises(ValueError):
        pred.instances(3)


def test_a_model_for_other_channels_is_refused_clearly():
    from unet_studio.core.errors import ModelError
    model = _random_model(in_channels=2)
    with pytest.raises(ModelError, match="2 channel"):
        predict_plane(model, np.zeros((1, 32, 32), np.float32))
