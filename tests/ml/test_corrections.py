"""Strokes painted while training runs correct the mask where they are; what the model was
sure of elsewhere is kept (ml/corrections.py)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from scipy import ndimage

from unet_studio.core.labels import LabelVolume
from unet_studio.core.stack import Stack
from unet_studio.ml.corrections import Corrections, strokes_differ
from unet_studio.ml.data import TrainingSet
from unet_studio.ml.predict import predict_plane
from unet_studio.ml.terms import Batch
from unet_studio.ml.train import TrainConfig, train
from unet_studio.ml.unet import UNet

from .conftest import TINY
from .synthetic import blobs, scribbles


def _net(seed=0):
    torch.manual_seed(seed)
    return UNet(1, 2, depth=2, width=4, norm="group")


def _loss(term, x, logits, target):
    return term.loss(Batch(x, target, logits=logits))


def test_nothing_is_kept_until_the_strokes_change():
    x = torch.rand(2, 1, 32, 32)
    net = _net()
    target = torch.full((2, 32, 32), -1)
    assert _loss(Corrections(3.0), x, net(x), target) is None


def test_the_kept_model_is_a_frozen_copy_answering_as_the_trained_network():
    shown = _net().eval()
    shown.outc.class_shift[:] = torch.tensor([0.5, -0.5])
    x = torch.rand(1, 1, 16, 16)
    corrections = Corrections(3.0)
    corrections.strokes_changed(shown)
    before = corrections.before
    assert before is not shown and not any(p.requires_grad for p in before.parameters())
    # It answers as the network in training does: logits without the class-share shift,
    # which only prediction adds; the shown model is left as it was.
    assert not shown.training
    with torch.no_grad():
        raw = shown.train()(x)
        assert torch.allclose(before(x), raw)
        assert not torch.allclose(shown.eval()(x), raw)
    # Training the shown network further does not move the kept copy.
    with torch.no_grad():
        for p in shown.parameters():
            p.add_(1.0)
    assert not torch.equal(next(before.parameters()), next(shown.parameters()))
    # New strokes again: the same frozen module takes the shown model's new weights.
    corrections.strokes_changed(shown)
    assert corrections.before is before
    assert torch.equal(next(before.parameters()), next(shown.parameters()))
    assert not any(p.requires_grad for p in before.parameters())


def test_the_loss_counts_unlabeled_pixels_where_the_kept_model_was_sure():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 16, 16)
    net = _net().train()
    corrections = Corrections(2.0, sure=0.0)   # every pixel counts as sure
    corrections.strokes_changed(net)
    unlabeled = torch.full((1, 16, 16), -1)
    same = _loss(corrections, x, net(x), unlabeled)
    assert same is not None and abs(float(same.detach())) < 1e-5   # the same answer costs nothing
    other = net(x) + torch.linspace(-2, 2, 2).view(1, 2, 1, 1)
    moved = _loss(corrections, x, other, unlabeled)
    assert float(moved.detach()) > 0.01
    # Painted pixels are the strokes' business: all labeled, nothing to keep.
    assert _loss(corrections, x, other, torch.zeros((1, 16, 16), dtype=torch.long)) is None
    # Nowhere sure, nothing kept.
    unsure = Corrections(2.0, sure=0.999)
    unsure.strokes_changed(_net(1))
    assert _loss(unsure, x, other, unlabeled) is None


def test_asked_every_other_step_the_kept_answers_count_twice():
    """The kept copy's forward pass is a third of a step: asked every `every` steps, its loss
    counts as many times, so over the steps it pulls as hard as when asked at each."""
    torch.manual_seed(0)
    x = torch.rand(1, 1, 16, 16)
    net = _net().train()
    each, other = Corrections(2.0, sure=0.0), Corrections(2.0, sure=0.0, every=2)
    for term in (each, other):
        term.strokes_changed(net)
    assert [other.applies(step) for step in range(4)] == [True, False, True, False]
    assert all(each.applies(step) for step in range(4))
    logits = net(x) + torch.linspace(-2, 2, 2).view(1, 2, 1, 1)
    unlabeled = torch.full((1, 16, 16), -1)
    assert torch.allclose(_loss(other, x, logits, unlabeled), 2 * _loss(each, x, logits, unlabeled))
    assert TrainConfig().keep_before_every == 2


def _train_and_correct(stop_to_correct=False, **options) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train on blobs; after 60 steps the user marks the largest blob as background, a
    correction nothing else in the image supports (every blob looks the same), while training
    goes on, or, `stop_to_correct`, after stopping, then trains again from the model shown.
    Returns the blob probability shown just before the correction and at the end (200 steps),
    the truth, and the corrected blob."""
    image, truth = blobs(96, 8, seed=3)
    stack = Stack.from_array(image, "YX")
    volume = LabelVolume.for_stack(stack)
    volume.add_class("blob")
    volume.data[...] = scribbles(truth, seed=3)
    pieces, n = ndimage.label(truth)
    corrected = pieces == 1 + int(np.argmax(ndimage.sum(truth, pieces, range(1, n + 1))))
    volume.version += 1
    # No class shares: measured on a clock, they would make the runs differ. No flip
    # consistency: another pull on unlabeled pixels (tests/ml/test_consistency.py). No stroke
    # trust: with the correction's edges counting less, the mask swings less by itself, and
    # this measures the keeping alone.
    config = dict(TINY, seed=0, report_every=0, class_shares=False, flip_consistency=0.0,
                  trust_stroke_centres=0.0, **options)
    before = model = None
    for p in train([stack], [volume], volume.classes, TrainConfig(steps=60 if stop_to_correct else 200, **config)):
        if p.step == 60 and before is None:
            before = predict_plane(p.model.copy(), image, views=1).probabilities[1]
            volume.data[ndimage.binary_erosion(corrected, iterations=1)] = 1
            volume.version += 1
            if not stop_to_correct:
                time.sleep(0.6)   # the trainer re-reads labels at most every 0.5 s
        if p.done:
            model = p.model
    if stop_to_correct:   # Train again, from the model the user was shown
        for p in train([stack], [volume], volume.classes, TrainConfig(steps=140, **config), init=model):
            model = p.model
    return before, predict_plane(model, image, views=1).probabilities[1], truth, corrected


@pytest.mark.parametrize("stop_to_correct", [False, True], ids=["while training", "stopped, trained again"])
def test_what_the_model_was_sure_of_away_from_a_correction_is_kept(stop_to_correct):
    before, free, truth, corrected = _train_and_correct(stop_to_correct, norm="group",
                                                        keep_before_corrections=0.0)
    before_kept, kept, _, _ = _train_and_correct(stop_to_correct, norm="group")   # the default
    assert np.array_equal(before, before_kept)   # the same run until the correction
    far = ~ndimage.binary_dilation(corrected, iterations=6)
    # Away from the correction the answer moves less than without keeping (1.0 would be no
    # keeping at all)...
    assert np.abs(kept - before)[far].mean() < 0.9 * np.abs(free - before)[far].mean()
    # ...and the blobs nobody corrected stay blobs.
    others = truth & far
    assert (kept[others] > 0.5).mean() > (free[others] > 0.5).mean() + 0.03


def test_a_model_is_kept_when_trained_again_only_if_the_strokes_changed_since():
    now = np.array([120, 40])
    assert not strokes_differ({"labeled_pixels": [120, 40], "strokes_digest": "ab"}, now, "ab")
    # The same counts, other pixels (erased here, painted there): the fingerprint tells.
    assert strokes_differ({"labeled_pixels": [120, 40], "strokes_digest": "ab"}, now, "cd")
    # A model saved before the fingerprint was kept: its counts per class.
    assert not strokes_differ({"labeled_pixels": [120, 40]}, now, "ab")
    assert strokes_differ({"labeled_pixels": [120, 40]}, np.array([120, 52]), "ab")   # painted since
    assert strokes_differ({"labeled_pixels": [120, 40]}, np.array([120, 40, 9]), "ab")  # a class since
    assert strokes_differ({}, now, "ab")   # a model that does not say: kept


def test_the_strokes_fingerprint_changes_with_any_painted_pixel_or_class():
    image = np.zeros((2, 24, 24), np.float32)
    labels = np.zeros((2, 24, 24), np.uint8)
    labels[0, 2, 2:12], labels[1, 20, 4:8] = 1, 2

    def digest(lab, unpainted_images=0):
        images = [Stack.from_array(image, "ZYX")] * (1 + unpainted_images)
        unpainted = [np.zeros_like(labels)] * unpainted_images
        return TrainingSet(images, [lab] + unpainted, 2).strokes_digest()

    first = digest(labels)
    assert digest(labels.copy()) == first
    assert digest(labels, unpainted_images=1) == first   # an image added, nothing painted on it
    moved = labels.copy()
    moved[0, 2, 11], moved[0, 3, 11] = 0, 1   # one pixel erased, one painted: the same counts
    swapped = labels.copy()
    swapped[0, 2, 2], swapped[1, 20, 4] = 2, 1   # two pixels exchange their classes
    other_plane = labels[::-1].copy()   # the same strokes, on the other planes
    assert len({first, digest(moved), digest(swapped), digest(other_plane)}) == 4


def test_strokes_moved_while_stopped_keep_the_shown_model_in_the_next_run():
    """Erasing a stroke and painting as many pixels of the class elsewhere is a correction."""
    image, truth = blobs(96, 8, seed=1)
    labels = scribbles(truth, seed=1)
    tiny = {**TINY, "norm": "group"}   # with BatchNorm nothing is kept
    config = TrainConfig(steps=20, seed=0, report_every=0, **tiny)
    model = None
    for p in train([image], [labels], ["background", "blob"], config):
        model = p.model
    moved = labels.copy()
    blob = np.flatnonzero(moved == 2)[:10]
    moved.flat[blob] = 0
    elsewhere = truth & (moved == 0)
    elsewhere.flat[blob] = False
    moved.flat[np.flatnonzero(elsewhere)[:10]] = 2
    assert np.array_equal(np.bincount(moved.ravel(), minlength=3), np.bincount(labels.ravel(), minlength=3))

    def trained_again(lab, keep):
        p = None
        for p in train([image], [lab], ["background", "blob"],
                       TrainConfig(steps=10, seed=1, report_every=0, keep_before_corrections=keep, **tiny),
                       init=model.copy()):
            pass
        return [v.detach().clone() for v in p.model.net.state_dict().values()]

    def same(a, b):
        return all(torch.equal(x, y) for x, y in zip(a, b))

    assert same(trained_again(labels, 0.0), trained_again(labels, 3.0))        # same strokes
    assert not same(trained_again(moved, 0.0), trained_again(moved, 3.0))     # moved: kept


def test_off_without_new_strokes_or_with_batchnorm_training_is_unchanged():
    image, truth = blobs(96, 8, seed=1)
    labels = scribbles(truth, seed=1)

    def weights(keep, norm="group", correct=False, again=False):
        volume = LabelVolume.for_stack(Stack.from_array(image, "YX"))
        volume.add_class("blob")
        volume.data[...] = labels
        volume.version += 1
        p = None
        for p in train([Stack.from_array(image, "YX")], [volume], volume.classes,
                       TrainConfig(steps=60, seed=0, report_every=0, keep_before_corrections=keep,
                                   **{**TINY, "norm": norm})):
            if correct and p.step == 40:
                volume.data[truth & (volume.data == 0)] = 2
                volume.version += 1
                time.sleep(0.6)   # the trainer re-reads labels at most every 0.5 s
        if again:   # the user stops and trains again, with the same strokes
            for p in train([Stack.from_array(image, "YX")], [volume], volume.classes,
                           TrainConfig(steps=20, seed=1, report_every=0, keep_before_corrections=keep,
                                       **{**TINY, "norm": norm}), init=p.model):
                pass
        return [v.detach().clone() for v in p.model.net.state_dict().values()]

    def same(a, b):
        return all(torch.equal(x, y) for x, y in zip(a, b))

    assert same(weights(0.0), weights(3.0))                        # no new strokes: nothing kept
    assert same(weights(0.0, again=True), weights(3.0, again=True))   # nor when trained again
    assert same(weights(0.0, "batch", True), weights(3.0, "batch", True))   # BatchNorm: off
    assert not same(weights(0.0, correct=True), weights(3.0, correct=True))  # on, it acts
