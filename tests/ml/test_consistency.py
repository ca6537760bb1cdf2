"""Unlabeled pixels: the answer on the patch flipped both ways is a soft target (ml/consistency.py)."""
from __future__ import annotations

import numpy as np
import torch

from unet_studio.ml.consistency import FlipConsistency
from unet_studio.ml.predict import predict_plane
from unet_studio.ml.terms import Batch
from unet_studio.ml.train import TrainConfig, train
from unet_studio.ml.unet import UNet

from .conftest import TINY
from .synthetic import blobs, scribbles


def _net(norm="group", seed=0):
    torch.manual_seed(seed)
    return UNet(1, 2, depth=2, width=4, norm=norm).train()


def _flips(weight, after_steps, net, sure=0.9):
    """The term asking `net` (as the trainer's `start` does)."""
    flips = FlipConsistency(weight, after_steps, sure=sure)
    flips.ask(net)
    return flips


def _loss(term, x, logits, target):
    return term.loss(Batch(x, target, logits=logits))


def test_it_starts_after_its_steps_and_not_at_weight_zero():
    flips = FlipConsistency(1.0, after_steps=150)
    assert not flips.applies(0) and not flips.applies(149) and flips.applies(150)
    assert not FlipConsistency(0.0, after_steps=0).applies(500)


def test_the_loss_asks_for_the_flipped_answer_on_unlabeled_sure_pixels():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 32, 32)
    net = _net()
    unlabeled = torch.full((2, 32, 32), -1)
    everywhere = _flips(2.0, 0, net, sure=0.0)
    # What the flipped answer is, flipped back: the target. Answering it costs nothing...
    with torch.no_grad():
        flipped_back = net(x.flip((-2, -1))).flip((-2, -1))
    same = _loss(everywhere, x, flipped_back, unlabeled)
    assert same is not None and abs(float(same)) < 1e-5
    # ...the network's own (not flip-symmetric) answer costs something, with a gradient that
    # reaches the network only through its answer on the unflipped patch.
    logits = net(x)
    moved = _loss(everywhere, x, logits, unlabeled)
    assert float(moved.detach()) > 1e-4
    moved.backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    assert _loss(everywhere, x, logits.detach(), unlabeled).grad_fn is None
    # Painted pixels are the strokes' business; nowhere sure, nothing asked.
    assert _loss(everywhere, x, logits, torch.zeros((2, 32, 32), dtype=torch.long)) is None
    assert _loss(_flips(2.0, 0, net, sure=0.999), x, logits, unlabeled) is None


def test_batchnorm_running_statistics_are_left_as_they_were():
    net = _net("batch")
    batchnorms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in batchnorms:
        m.momentum = 0.3

    def running():
        return {k: v.clone() for k, v in net.state_dict().items() if "running" in k}

    x = torch.rand(2, 1, 32, 32) * 5 + 3   # far from the statistics the layers hold
    logits = net(x)   # the labeled loss's forward, which moves them as training does
    held = running()
    _loss(_flips(1.0, 0, net, sure=0.0), x, logits.detach(), torch.full((2, 32, 32), -1))
    assert all(torch.equal(v, running()[k]) for k, v in held.items())
    assert all(m.momentum == 0.3 for m in batchnorms)
    net(x)   # an ordinary train-mode forward does move them: the check above can fail
    assert any(not torch.equal(v, running()[k]) for k, v in held.items())


def _flip_disagreement(consistency: float) -> float:
    """Train on blobs; the mean |p(image) - flipped back p(flipped image)| on unlabeled pixels."""
    image, truth = blobs(96, 8, seed=2)
    labels = scribbles(truth, seed=2, fraction=0.02)
    model = None
    for p in train([image], [labels], ["background", "blob"],
                   TrainConfig(steps=160, seed=0, report_every=0, class_shares=False,
                               flip_consistency=consistency, consistency_after=40,
                               **{**TINY, "norm": "group"})):
        model = p.model
    straight = predict_plane(model, image, views=1).probabilities[1]
    flipped = predict_plane(model, image[::-1, ::-1].copy(), views=1).probabilities[1][::-1, ::-1]
    return float(np.abs(straight - flipped)[labels == 0].mean())


def test_training_with_it_answers_more_alike_whichever_way_up():
    # Training already samples flipped patches, so the views mostly agree without it (seeds
    # 0-2 on two images: the default weight lowers the disagreement by 4-17 %); a strong weight
    # shows the loss reaches the trained network.
    without = _flip_disagreement(0.0)
    assert _flip_disagreement(1.0) < without
    assert _flip_disagreement(10.0) < 0.75 * without


def test_training_before_its_first_step_is_unchanged():
    image, truth = blobs(96, 8, seed=2)
    labels = scribbles(truth, seed=2)

    def weights(consistency):
        for p in train([image], [labels], ["background", "blob"],
                       TrainConfig(steps=30, seed=0, report_every=0, class_shares=False,
                                   flip_consistency=consistency, consistency_after=30,
                                   **{**TINY, "norm": "group"})):
            pass
        return [v.detach().clone() for v in p.model.net.state_dict().values()]

    assert all(torch.equal(a, b) for a, b in zip(weights(0.0), weights(1.0)))


def _trained_40_steps(consistency_after: int):
    """Blobs, their strokes, the training settings, and a model trained 40 steps with them."""
    image, truth = blobs(96, 8, seed=2)
    labels = scribbles(truth, seed=2)
    config = dict(seed=0, report_every=0, class_shares=False, consistency_after=consistency_after,
                  **{**TINY, "norm": "group"})
    for p in train([image], [labels], ["background", "blob"], TrainConfig(steps=40, **config)):
        pass
    return image, labels, config, p.model


def test_training_again_counts_the_steps_the_model_trained_before():
    image, labels, config, trained = _trained_40_steps(consistency_after=40)

    def weights(consistency, classes=("background", "blob"), init=trained):
        for p in train([image], [labels], list(classes),
                       TrainConfig(steps=10, flip_consistency=consistency, **config), init=init):
            pass
        return [v.detach().clone() for v in p.model.net.state_dict().values()]

    def same(a, b):
        return all(torch.equal(x, y) for x, y in zip(a, b))

    # 40 steps trained before: on from the first step of the next run...
    assert not same(weights(0.0), weights(1.0))
    # ...but a new output layer (another class count) is a fresh start for it.
    three = ("background", "blob", "edge")
    assert same(weights(0.0, three), weights(1.0, three))


def test_the_reported_loss_is_the_fit_to_the_strokes_alone():
    """The loss the user sees (curve, panel, the kept model's entry) does not jump when flip
    consistency starts: it is the cross-entropy on the painted pixels."""
    image, labels, config, trained = _trained_40_steps(consistency_after=0)

    def first_step(consistency):
        run = train([image], [labels], ["background", "blob"],
                    TrainConfig(steps=2, flip_consistency=consistency, **config), init=trained.copy())
        first = next(run)   # the report after the first step: the weights it was computed with
        rest = list(run)    # are the trained model's, whatever the weight
        return first.loss, [v.detach().clone() for v in rest[-1].model.net.state_dict().values()]

    loss_without, weights_without = first_step(0.0)
    loss_with, weights_with = first_step(10.0)
    assert not all(torch.equal(a, b) for a, b in zip(weights_without, weights_with))   # it trained
    assert loss_with == loss_without
