"""Strokes painted while training are shown soon: sampled more often for a while, and the
shown weight average following them."""
from __future__ import annotations

import time

import numpy as np
import torch

from unet_studio.ml.data import TrainingSet
from unet_studio.ml.train import TrainConfig, train
from unet_studio.ml.weight_average import WeightAverage

from .conftest import TINY


class _Live:
    def __init__(self, data):
        self.data, self.version = data, 0


def _two_strokes() -> tuple[np.ndarray, _Live]:
    image = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    labels = np.zeros((64, 64), np.uint8)
    labels[5, 5:20], labels[50, 5:20] = 1, 2
    return image, _Live(labels)


def _fresh(data: TrainingSet) -> list[set]:
    if not data.fresh:
        return [set() for _ in data.classes]
    return [set(c.per_image[0].tolist()) for c in data.fresh]


def test_strokes_painted_since_the_start_are_fresh_until_forgotten():
    image, live = _two_strokes()
    data = TrainingSet([image], [live], 2)
    assert data.fresh == []   # the strokes training started with are not new
    live.data[30, 40:45] = 1
    live.version += 1
    data.refresh(force=True)
    assert _fresh(data) == [{30 * 64 + x for x in range(40, 45)}, set()]
    # More strokes add to them; a fresh pixel painted over with the other class moves with it,
    # and an erased one is no longer fresh.
    live.data[40, 40:42] = 2
    live.data[30, 40] = 2
    live.data[30, 44] = 0
    live.version += 1
    data.refresh(force=True)
    assert _fresh(data) == [{30 * 64 + x for x in range(41, 44)}, {40 * 64 + 40, 40 * 64 + 41, 30 * 64 + 40}]
    data.forget_fresh()
    assert data.fresh == []


def test_strokes_painted_from_another_thread_while_the_labels_are_indexed_do_not_stop_training():
    """The window paints into the live label array while the training thread indexes it. Read
    live, numpy's nonzero fails when the count changes under it, and the run stopped with
    "number of non-zero array elements changed during function execution"."""
    import threading

    image = np.zeros((2048, 2048), np.float32)
    live = _Live(np.zeros((2048, 2048), np.uint8))
    live.data[:8, :8], live.data[-8:, -8:] = 1, 2
    data = TrainingSet([image], [live], 2)
    until = time.monotonic() + 1.0

    def paint():
        row = 0
        while time.monotonic() < until:
            live.data[row:row + 40, 100:1900] = 1 + row % 2
            live.data[(row + 1000) % 2000:(row + 1000) % 2000 + 40, 100:1900] = 0
            live.version += 1
            row = (row + 1) % 2000

    painter = threading.Thread(target=paint)
    painter.start()
    try:
        indexed = 0
        while time.monotonic() < until:
            data.refresh(force=True)
            indexed += 1
    finally:
        painter.join()
    assert indexed >= 1
    data.refresh(force=True)   # once painting stops, the index is exact
    for k in (1, 2):
        assert np.array_equal(np.sort(data.classes[k - 1].per_image[0]), np.flatnonzero(live.data == k))


def _with_a_new_stroke() -> TrainingSet:
    """Two strokes training started with, and one of class 1 painted since (5 px)."""
    image, live = _two_strokes()
    data = TrainingSet([image], [live], 2)
    live.data[30, 40:45] = 1
    live.version += 1
    data.refresh(force=True)
    return data


def test_a_share_of_the_patches_is_drawn_around_the_fresh_strokes():
    data = _with_a_new_stroke()
    # All of them: every patch holds the new stroke (5 px; the first class-1 stroke, 15 px
    # long and 25 rows away, is never in a patch of 16 with the new one).
    _, labels, _ = data.sample(np.random.default_rng(1), 32, 16, fresh_share=1.0)
    assert all(1 <= (patch == 1).sum() <= 5 for patch in labels)
    # Half of them: about half around it, the others as before (a class, then one of its pixels,
    # which for class 1 is the new stroke a quarter of the time): 0.5 + 0.5 * 0.5 * 0.25.
    _, labels, _ = data.sample(np.random.default_rng(1), 400, 16, fresh_share=0.5)
    near_new = np.mean([1 <= (patch == 1).sum() <= 5 for patch in labels])
    assert 0.5 < near_new < 0.75
    # Once forgotten, a share asks for nothing: the batches are those drawn without one.
    data.forget_fresh()
    plain = data.sample(np.random.default_rng(1), 8, 16)
    asked = data.sample(np.random.default_rng(1), 8, 16, fresh_share=1.0)
    assert all(np.array_equal(a, b) for a, b in zip(plain[:2], asked[:2]))


def test_fresh_pixels_weigh_more_while_they_are_asked_for():
    data = _with_a_new_stroke()
    _, labels, weights = data.sample(np.random.default_rng(1), 8, 16, fresh_share=1.0, fresh_weight=4.0)
    for patch, weight in zip(labels, weights):
        # Each patch holds the new stroke and no old one (test above): it counts 4 times.
        assert 1 <= (patch > 0).sum() <= 5 and np.all(weight[patch > 0] == 4.0)
    # Pixel trust and the new strokes' weight multiply (strokes 1 px wide are fully trusted).
    _, _, trusted = data.sample(np.random.default_rng(1), 8, 16, fresh_share=1.0, trust_centres=3.0,
                                fresh_weight=4.0)
    assert np.array_equal(trusted[labels > 0], weights[labels > 0])
    # Patches around the old strokes too: those count once.
    _, labels, weights = data.sample(np.random.default_rng(1), 200, 16, fresh_share=0.5, fresh_weight=4.0)
    assert sorted(set(weights[labels > 0].tolist())) == [1.0, 4.0]
    # No weight asked, or nothing fresh: no weights, as before.
    assert data.sample(np.random.default_rng(1), 8, 16, fresh_share=1.0)[2] is None
    data.forget_fresh()
    assert data.sample(np.random.default_rng(1), 8, 16, fresh_share=1.0, fresh_weight=4.0)[2] is None


def test_the_shown_average_follows_new_strokes_at_once():
    def shown_after_new_strokes(follow: bool) -> float:
        net = torch.nn.Linear(1, 1, bias=False)
        torch.nn.init.zeros_(net.weight)
        average = WeightAverage(0.99, follow_new_strokes=follow)
        average.follow(net)
        for _ in range(300):
            average.update(net)
        with torch.no_grad():
            net.weight.fill_(1.0)   # what the new strokes teach
        average.labels_changed(None)
        for _ in range(5):
            average.update(net)
        return float(average.net.weight)

    assert shown_after_new_strokes(True) > 0.9
    assert shown_after_new_strokes(False) < 0.2


def test_training_asks_for_the_new_strokes_for_a_while_after_they_change(blob_training, monkeypatch):
    image, _, labels = blob_training
    live = _Live(np.array(labels))
    shares = []
    sample = TrainingSet.sample

    def recorded(self, rng, batch, size, border_weights=False, fresh_share=0.0, *rest, **named):
        shares.append(fresh_share)
        return sample(self, rng, batch, size, border_weights, fresh_share, *rest, **named)

    monkeypatch.setattr(TrainingSet, "sample", recorded)
    # No class shares: they draw patches of their own, on a clock.
    config = TrainConfig(steps=20, seed=0, report_every=0.0, class_shares=False,
                         new_strokes_share=0.5, new_strokes_steps=6, **TINY)
    for p in train([image], [live], ["background", "blob"], config):
        if p.step == 5:
            live.data[40:44, 40:44] = 1
            live.version += 1
            time.sleep(0.6)   # the trainer re-reads labels at most every 0.5 s
    # Steps 0-4 drew from the strokes training started with; the next 6 ask for the new ones.
    assert shares == [0.0] * 5 + [0.5] * 6 + [0.0] * 9
