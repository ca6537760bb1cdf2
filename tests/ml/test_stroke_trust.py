"""Painted pixels are trusted by how far inside their stroke they lie: where a wide brush spilled
over counts less than where it aimed, a thin stroke counts fully; and a stroke's edges count
less again where they look unlike where the hand aimed."""
from __future__ import annotations

import numpy as np

from unet_studio.ml.data import TrainingSet
from unet_studio.ml.stroke_trust import AIM, REACH, stroke_trust, updated_trust


def test_a_wide_stroke_counts_more_at_its_centre_line_than_at_its_edges():
    labels = np.zeros((40, 60), np.uint8)
    labels[10:19, 5:55] = 2                       # 9 px wide
    trust = stroke_trust(labels, power=1.0)
    across = trust[10:19, 30]
    assert (across[4 - AIM:5 + AIM] == 1.0).all()  # the centre line, and the hand's aim
    assert across[0] == across[-1] < across[1] < across[2] < 1.0
    np.testing.assert_array_equal(across, across[::-1])
    assert across[0] <= 0.25
    assert (trust[labels == 0] == 0).all()
    squared = stroke_trust(labels, power=2.0)[10:19, 30]
    np.testing.assert_allclose(squared, across ** 2, rtol=1e-6)


def test_a_strokes_edge_spilled_onto_what_looks_different_counts_less_again():
    """A bright nucleus painted across with a brush that spills onto the dark background at the
    stroke's round end: compared with the pixels where the hand aimed, the spilled ones count
    far less; the edge pixels still on the nucleus keep their trust, the centre stays whole."""
    yy, xx = np.mgrid[:60, :80]
    nucleus = np.hypot(yy - 30, xx - 40) <= 15
    image = np.where(nucleus, 0.8, 0.1).astype(np.float32)[None]
    image += np.random.default_rng(0).normal(0, 0.02, image.shape).astype(np.float32)
    along = np.clip(xx, 26, 54)                  # the centre line, to the nucleus's edges
    labels = np.where(np.hypot(yy - 30, xx - along) <= 4.5, 2, 0).astype(np.uint8)   # a 9 px brush
    geometric = stroke_trust(labels, power=1.0)
    compared = stroke_trust(labels, power=1.0, image=image, looks=0.1)
    edge = (labels == 2) & (geometric < 1.0)
    spilled, on_nucleus = edge & ~nucleus, edge & nucleus
    assert spilled.sum() > 20 and on_nucleus.sum() > 20
    assert (compared[spilled] < 0.01 * geometric[spilled]).all()
    assert (compared[on_nucleus] > 0.8 * geometric[on_nucleus]).all()
    np.testing.assert_array_equal(compared[geometric == 1.0], 1.0)
    np.testing.assert_array_equal(stroke_trust(labels, 1.0, image, looks=0.0), geometric)
    for colour in (np.concatenate([image, image]), np.concatenate([image, 1 - image])):
        assert (stroke_trust(labels, 1.0, colour, 0.1)[spilled] < 0.01 * geometric[spilled]).all()


def test_thin_strokes_count_fully_and_power_zero_trusts_every_painted_pixel():
    labels = np.zeros((40, 60), np.uint8)
    labels[5, 5:55] = 1                           # 1 px
    labels[20:22, 5:55] = 2                       # 2 px
    labels[30:33, 5:55] = 3                       # 3 px
    np.testing.assert_array_equal(stroke_trust(labels, power=2.0), (labels > 0).astype(np.float32))
    wide = np.zeros((40, 60), np.uint8)
    wide[10:19, 5:55] = 1
    np.testing.assert_array_equal(stroke_trust(wide, power=0.0), (wide > 0).astype(np.float32))


def test_a_filled_region_is_distrusted_only_near_its_edge_and_the_plane_border_is_no_edge():
    labels = np.zeros((80, 80), np.uint8)
    labels[:, :60] = 1                            # a fill running off the top, bottom and left
    labels[:, 60:] = 2
    trust = stroke_trust(labels, power=1.0)
    edge = REACH - AIM                            # the pixels of a fill's edge
    assert (trust[:, :61 - edge] == 1.0).all()    # deep inside, and along the plane's border
    assert (trust[:, 61 - edge:60] < 1.0).all()   # towards the other class's paint
    assert trust[40, 59] == trust[40, 60] == 1.0 / edge


def test_sampled_patches_carry_the_trust_times_the_border_weight():
    image = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    labels = np.zeros((64, 64), np.uint8)
    labels[28:37, :] = 2                          # one wide stroke, 9 px
    labels[5, :] = 1
    data = TrainingSet([image], [labels], n_classes=2, seed=0)
    assert data.sample(np.random.default_rng(0), 2, 64)[2] is None
    _, lab, w = data.sample(np.random.default_rng(0), 4, 64, trust_centres=1.0)
    assert w is not None and (w[lab == 0] == 0).all()
    painted = w[lab == 2]
    assert painted.max() == 1.0 and painted.min() <= 0.25
    assert (w[lab == 1] == 1.0).all()
    _, _, both = data.sample(np.random.default_rng(0), 4, 64, border_weights=True, trust_centres=1.0)
    _, _, border = data.sample(np.random.default_rng(0), 4, 64, border_weights=True)
    np.testing.assert_allclose(both, w * border, rtol=1e-6)


def test_training_weighs_the_strokes_it_learns_from_by_their_trust(monkeypatch):
    from unet_studio.ml.terms import LabeledStrokes
    from unet_studio.ml.train import TrainConfig, train

    from .conftest import TINY

    image = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    labels = np.zeros((64, 64), np.uint8)
    labels[10:19, 4:60] = 2                       # wide strokes, as a 9 px brush paints
    labels[40:49, 4:60] = 1
    seen = []
    loss = LabeledStrokes.loss

    def recorded(self, batch):
        seen.append(None if batch.pixel_weight is None else batch.pixel_weight[batch.target >= 0])
        return loss(self, batch)

    monkeypatch.setattr(LabeledStrokes, "loss", recorded)
    for trust in (2.0, 0.0):
        config = TrainConfig(steps=2, seed=0, trust_stroke_centres=trust, starting_model=False,
                             augment=False, class_shares=False, **TINY)
        for _ in train([image], [labels], ["background", "band"], config):
            pass
    trusted, plain = seen[:2], seen[2:]
    assert all(w is not None and w.max() == 1.0 and w.min() <= 0.25 ** 2 for w in trusted)
    assert plain == [None, None]


def test_the_trust_says_which_pixels_count_more_not_how_much_the_strokes_count():
    import torch

    from unet_studio.ml.terms import Batch, LabeledStrokes

    logits = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    target = torch.full((1, 8, 8), -1)
    target[0, :3], target[0, 5:] = 0, 1
    trust = torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(1)) * (target >= 0)
    strokes = LabeledStrokes(balance_classes=True)
    trusted = strokes.loss(Batch(None, target, trust, logits=logits))
    torch.testing.assert_close(strokes.loss(Batch(None, target, trust / 4, logits=logits)), trusted)
    plain = strokes.loss(Batch(None, target, None, logits=logits))
    assert not torch.isclose(trusted, plain)
    torch.testing.assert_close(strokes.loss(Batch(None, target, (target >= 0).float(), logits=logits)), plain)


def test_the_weights_kept_are_bounded_and_a_plane_that_left_is_weighed_the_same_again(monkeypatch):
    from unet_studio.core.stack import Stack
    from unet_studio.ml import data as data_module

    image = np.random.default_rng(0).normal(size=(6, 48, 48)).astype(np.float32)
    labels = np.zeros((6, 48, 48), np.uint8)
    labels[:, 10:19, :] = 2
    labels[:, 40, :] = 1
    monkeypatch.setattr(data_module, "_WEIGHT_CACHE_BYTES", 2 * 48 * 48 * 4)
    data = TrainingSet([Stack.from_array(image, "ZYX")], [labels], n_classes=2, seed=0)
    first = data.sample(np.random.default_rng(3), 8, 48, trust_centres=3.0)[2]
    assert len(data._weights) <= 2
    data._weights.clear()
    np.testing.assert_array_equal(data.sample(np.random.default_rng(3), 8, 48, trust_centres=3.0)[2], first)


def _boxes(labels: np.ndarray, rng: np.random.Generator, n: int, classes: int, longest: int) -> None:
    """Paint n boxes of random classes (0: erase) into labels, some running over its edges."""
    height, width = labels.shape
    for _ in range(n):
        y, x = int(rng.integers(-8, height)), int(rng.integers(-8, width))
        labels[max(y, 0):y + int(rng.integers(1, longest)), max(x, 0):x + int(rng.integers(1, 2 * longest))] = \
            rng.integers(0, classes + 1)


def test_trust_updated_where_the_strokes_changed_is_the_whole_plane_computed_again():
    rng = np.random.default_rng(5)
    for _ in range(200):
        labels = np.zeros(tuple(int(v) for v in rng.integers(30, 160, 2)), np.uint8)
        _boxes(labels, rng, int(rng.integers(1, 8)), 3, 30)
        power = float(rng.choice([0.5, 1.0, 2.0]))
        image = rng.random((int(rng.integers(1, 3)),) + labels.shape).astype(np.float32)
        looks = float(rng.choice([0.0, 0.1, 0.3]))
        trust = stroke_trust(labels, power, image, looks)
        painted = labels.copy()
        _boxes(painted, rng, int(rng.integers(1, 3)), 3, 20)
        np.testing.assert_array_equal(updated_trust(trust, labels, painted, power, image, looks),
                                      stroke_trust(painted, power, image, looks))


def test_painting_while_training_updates_the_weights_near_the_new_stroke_only(monkeypatch):
    from unet_studio.ml import data as data_module

    image = np.random.default_rng(0).normal(size=(256, 256)).astype(np.float32)
    labels = np.zeros((256, 256), np.uint8)
    labels[20:29, 10:240] = 2
    labels[200, 10:240] = 1
    data = TrainingSet([image], [labels], n_classes=2, seed=0)
    data.sample(np.random.default_rng(0), 2, 64, trust_centres=1.0)
    shapes = []
    real = stroke_trust

    def recorded(labels, power, *compared):
        shapes.append(labels.shape)
        return real(labels, power, *compared)

    monkeypatch.setattr(data_module, "stroke_trust", recorded)                      # a whole plane
    monkeypatch.setattr("unet_studio.ml.stroke_trust.stroke_trust", recorded)      # a window of it
    labels[120:129, 100:140] = 1                  # a new stroke, painted into the live labels
    assert data.refresh(force=True)
    _, lab, w = data.sample(np.random.default_rng(1), 8, 64, trust_centres=1.0)
    assert shapes and all(height < 128 and width < 128 for height, width in shapes)
    fresh = TrainingSet([image], [labels.copy()], n_classes=2, seed=0)
    np.testing.assert_array_equal(w, fresh.sample(np.random.default_rng(1), 8, 64, trust_centres=1.0)[2])
