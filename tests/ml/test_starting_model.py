"""The shipped starting model: it loads safely, adapts to the user's classes and channels,
and already sees objects before any fine-tuning."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unet_studio.ml import starting_model as sm
from unet_studio.ml.predict import predict_plane

from .synthetic import blobs, iou


def test_the_installation_ships_a_starting_model_that_loads_without_pickles():
    assert sm.has_starting_model()
    payload = torch.load(sm.starting_model_path(), weights_only=True)  # refuses pickled objects
    assert payload["arch"]["in_channels"] == 1 and payload["arch"]["n_classes"] == 3
    # A few MB: it ships inside the wheel.
    assert sm.starting_model_path().stat().st_size < 6_000_000


def test_a_new_output_layer_for_the_users_classes_starts_undecided():
    model = sm.load_starting_model(2, 1, classes=["background", "nucleus"])
    assert model.n_classes == 2 and model.class_names == ["background", "nucleus"]
    image, _ = blobs(64, seed=3)
    probs = predict_plane(model, image).probabilities
    assert probs.shape == (2, 64, 64)
    np.testing.assert_allclose(probs, 0.5, atol=1e-3)


def test_a_colour_image_of_grey_channels_starts_like_the_grey_image():
    grey_model = sm.load_starting_model(3, 1)
    colour_model = sm.load_starting_model(3, 3)
    assert colour_model.in_channels == 3
    image, _ = blobs(64, seed=4)
    x = torch.from_numpy((image / image.max()).astype(np.float32))[None, None]
    with torch.no_grad():
        grey = grey_model.net.eval()(x)
        colour = colour_model.net.eval()(x.expand(-1, 3, -1, -1))
    torch.testing.assert_close(colour, grey, atol=1e-4, rtol=1e-4)


def test_it_finds_bright_blobs_before_any_fine_tuning():
    model = sm.load_starting_model(3, 1)
    image, truth = blobs(128, n=10, seed=5)
    mask = predict_plane(model, image).mask
    assert iou(mask >= 2, truth) > 0.7   # classes: 1 background, 2 object, 3 object boundary


def test_a_missing_starting_model_is_reported_not_crashed(monkeypatch):
    def missing():
        raise FileNotFoundError("unet_studio is missing its resource file 'starting_model.pt'")
    monkeypatch.setattr(sm, "starting_model_path", missing)
    assert not sm.has_starting_model()
    with pytest.raises(FileNotFoundError):
        sm.load_starting_model(2)


def test_train_without_init_fine_tunes_the_starting_model(blob_training):
    from unet_studio.ml.train import TrainConfig, train

    image, _, labels = blob_training
    messages, progress = [], None
    for progress in train([image], [labels], ["background", "blob"],
                          TrainConfig(steps=15, seed=0, batch=2, patch=64)):
        messages.append(progress.message)
    assert any("starting model" in m for m in messages)
    assert progress.model.arch["norm"] == sm.starting_arch()["norm"]
    held_out, truth = blobs(96, 8, seed=7)
    assert iou(predict_plane(progress.model, held_out).mask == 2, truth) > 0.7


def test_a_trusted_starting_model_shows_its_answer_before_the_first_step(blob_training):
    """The new output layer starts from the starting model's answer, so the user sees it at
    Train, not after the first steps and the first preview interval."""
    from unet_studio.ml.train import TrainConfig, train

    image, truth, labels = blob_training
    run = train([image], [labels], ["background", "blob"], TrainConfig(steps=3, seed=0, batch=2, patch=64),
                preview_request=lambda: (0, 0, 0))
    first = next(p for p in run if p.preview is not None)
    assert first.step == 0 and "already recognises" in first.message
    assert iou(first.preview.mask == 2, truth) > 0.7


def test_a_network_that_has_learned_nothing_yet_is_not_shown_before_it_trains(blob_training):
    from unet_studio.ml.train import TrainConfig, train

    image, _, labels = blob_training
    config = TrainConfig(steps=3, seed=0, width=8, depth=3, batch=2, patch=64, preview_every=0, preview_share=1.0)
    steps = [p.step for p in train([image], [labels], ["background", "blob"], config,
                                   preview_request=lambda: (0, 0, 0)) if p.preview is not None]
    assert steps and min(steps) >= 1


def test_three_classes_in_any_order_get_a_new_output_layer(blob_training):
    """The user's classes are theirs to name and order: three of them (the starting model's
    count) must not inherit its own layer, which would read class 1 as its background. Here
    class 1 is the blob: with that layer, 5 steps showed almost nothing right (IoU 0.02)."""
    from skimage.segmentation import find_boundaries

    from unet_studio.ml.train import TrainConfig, train

    image, truth, labels = blob_training
    users = np.zeros_like(labels)
    users[labels == 2], users[labels == 1] = 1, 2          # blob, background
    ys, xs = np.nonzero(find_boundaries(truth > 0, mode="inner"))
    users[ys[::6], xs[::6]] = 3                            # a few rim pixels: edge
    progress = list(train([image], [users], ["blob", "background", "edge"],
                          TrainConfig(steps=5, seed=0, batch=2, patch=64)))[-1]
    mask = predict_plane(progress.model, image).mask
    assert iou((mask == 1) | (mask == 3), truth) > 0.8


def test_asking_for_another_architecture_trains_from_scratch(blob_training):
    from unet_studio.ml.train import TrainConfig, train

    image, _, labels = blob_training
    for progress in train([image], [labels], ["background", "blob"],
                          TrainConfig(steps=2, seed=0, width=8, depth=3, batch=2, patch=64)):
        assert "starting model" not in progress.message
    assert progress.model.arch["width"] == 8


@pytest.mark.parametrize("anchor", [0.0, 1.0 / 3e-4])
def test_the_anchor_pulls_fine_tuned_weights_back_to_the_starting_model(blob_training, anchor):
    """anchor * lr = 1 puts every layer but the new output layer back where it started after each
    step; without an anchor, fine-tuning moves them."""
    from unet_studio.ml.train import TrainConfig, train

    image, _, labels = blob_training
    start = sm.load_starting_model(2, 1).net.state_dict()
    # Open-ended (no step budget, so no decay): the lr stays 3e-4 after a 1-step warm-up.
    config = TrainConfig(seed=0, batch=2, patch=64, finetune_lr=3e-4, warmup_steps=1, report_every=0.0,
                         average_weights=0.0, anchor=anchor)
    for progress in train([image], [labels], ["background", "blob"], config):
        if progress.step >= 3:
            break
    tuned = progress.model.net.state_dict()
    body = [k for k in start if not k.startswith("outc.") and start[k].is_floating_point()]
    moved = max(float((tuned[k].cpu() - start[k]).abs().max()) for k in body)
    assert (moved < 1e-6) if anchor else (moved > 1e-4)
    assert float(tuned["outc.weight"].abs().max()) > 0   # the output layer learns either way


def test_training_again_from_a_fine_tuned_model_keeps_the_fine_tuning_recipe(blob_training, tmp_path):
    """Train, stop, correct, Train again: the second run starts from the first run's model and
    must go on with the recipe measured for fine-tuning (its learning rate, the weight average),
    not the from-scratch one, also after the model went through a file."""
    from unet_studio.ml.model_file import load_model, save_model
    from unet_studio.ml.train import TrainConfig, train

    image, _, labels = blob_training
    options = dict(seed=0, batch=2, patch=64, warmup_steps=1, report_every=0.0, lr=1e-3, finetune_lr=3e-4)
    for first in train([image], [labels], ["background", "blob"], TrainConfig(steps=2, **options)):
        pass
    save_model(tmp_path / "first.pt", first.model)
    messages = []
    # Open-ended, as in the app: no budget, so no decay; the lr is the recipe's after warm-up.
    for again in train([image], [labels], ["background", "blob"], TrainConfig(**options),
                       init=load_model(tmp_path / "first.pt")):
        messages.append(again.message)
        if again.step >= 2:
            break
    assert again.lr == pytest.approx(3e-4)
    assert any("continuing from the current model" in m for m in messages)
    # A model trained from scratch goes on with the plain recipe.
    for scratch in train([image], [labels], ["background", "blob"],
                         TrainConfig(steps=2, width=8, depth=3, **options)):
        pass
    for again in train([image], [labels], ["background", "blob"], TrainConfig(**options), init=scratch.model):
        if again.step >= 2:
            break
    assert again.lr == pytest.approx(1e-3)


def test_training_again_after_corrections_keeps_the_trust_it_started_with(blob_training):
    """Trust says whether the starting model suits these images, measured on the first strokes.
    Strokes painted since are corrections, exactly where the model was wrong: measured again
    they read as disagreement, and would switch the recipe between two runs on one image."""
    from unet_studio.ml.remember import NO_TRUST_BELOW
    from unet_studio.ml.train import TrainConfig, train

    image, truth, labels = blob_training
    classes = ["background", "blob"]
    options = dict(seed=0, batch=2, patch=64, warmup_steps=1, report_every=0.0, lr=1e-3, finetune_lr=3e-4)
    for first in train([image], [labels], classes, TrainConfig(steps=2, **options)):
        pass
    started_with = first.model.summary["starting_model_agreement"]
    assert started_with > NO_TRUST_BELOW
    corrected = labels.copy()
    corrected[truth & (labels == 0)] = 1   # "background" painted over the blobs
    band = corrected[44:50]                  # and "blob" across the background
    band[~truth[44:50] & (band == 0)] = 2
    # Measured afresh on these strokes, the starting model would not be trusted...
    for fresh in train([image], [corrected], classes, TrainConfig(steps=1, **options)):
        pass
    assert fresh.model.summary["starting_model_agreement"] <= NO_TRUST_BELOW
    # ...but training again from the user's model keeps its recipe and says why.
    messages = []
    run = train([image], [corrected], classes, TrainConfig(**options), init=first.model)
    for again in run:
        messages.append(again.message)
        if again.step >= 2:
            break
    run.close()   # as Stop does: the summary is written
    assert again.lr == pytest.approx(3e-4)
    assert again.model.summary["starting_model_agreement"] == started_with
    assert any("recognises most of your images" in m and "of your first strokes" in m for m in messages)
