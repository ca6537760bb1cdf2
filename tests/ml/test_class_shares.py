"""Class shares: estimated from a balanced network's answers, kept in the output layer, used
when predicting and saved with the model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unet_studio.core.errors import ModelError
from unet_studio.ml.class_shares import MIN_SHARE, class_shift, estimate_shares, strength_the_strokes_allow
from unet_studio.ml.model_file import Model, describe_model, load_model, save_model
from unet_studio.ml.predict import predict_plane
from unet_studio.ml.train import TrainConfig, train
from unet_studio.ml.unet import OutConv, UNet

from .conftest import TINY


def balanced_answers(shares: list[float], n: int = 40_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(K, n) answers of an ideal classifier trained as if each class covered 1/K, on pixels
    drawn with the given shares (class k's value ~ N(2k, 1), so p(k | x) = softmax_k(-(x-2k)²/2)),
    and the pixels' true classes (n,)."""
    rng = np.random.default_rng(seed)
    k = len(shares)
    truth = rng.choice(k, n, p=shares)
    x = rng.normal(2.0 * truth, 1.0)
    logits = -0.5 * (x[None, :] - 2.0 * np.arange(k)[:, None]) ** 2
    p = np.exp(logits - logits.max(0))
    return p / p.sum(0), truth


@pytest.mark.parametrize("shares", [[0.2, 0.8], [0.9, 0.1], [0.1, 0.3, 0.6]])
def test_the_shares_are_found_from_balanced_answers(shares):
    # The answers alone, thresholded, would be far off (a balanced classifier calls the rare class too often).
    answers, _ = balanced_answers(shares)
    estimated = estimate_shares(answers)
    np.testing.assert_allclose(estimated, shares, atol=0.02)
    assert estimated.sum() == pytest.approx(1.0)


def test_shifted_answers_recover_the_true_class_better():
    shares = [0.2, 0.8]
    answers, truth = balanced_answers(shares, seed=1)
    logits = np.log(answers) + class_shift(estimate_shares(answers))[:, None]
    plain_error = (answers.argmax(0) != truth).mean()
    shifted_error = (logits.argmax(0) != truth).mean()
    assert shifted_error < plain_error - 0.02


def test_shift_is_log_k_share_and_bounded():
    np.testing.assert_allclose(class_shift([0.5, 0.5]), [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(class_shift([0.25, 0.75]), np.log([0.5, 1.5]), atol=1e-6)
    shift = class_shift([1.0, 0.0])
    assert np.isfinite(shift).all() and shift[1] == pytest.approx(np.log(2 * MIN_SHARE / (1 + MIN_SHARE)), abs=1e-5)


def test_a_shift_may_not_overrule_the_strokes():
    """Class 0's strokes are predicted right with logit margins from 1 to 3, class 1's with 3.
    Shifting class 0 down by 2 would lose half of its strokes; half of that shift loses none."""
    margins = torch.cat([torch.linspace(1.0, 3.0, 50), torch.full((50,), -3.0)])
    logits = torch.stack([margins, torch.zeros(100)]).view(1, 2, 1, 100)
    target = torch.cat([torch.zeros(50, dtype=torch.long), torch.ones(50, dtype=torch.long)]).view(1, 1, 100)
    assert strength_the_strokes_allow(logits, target, torch.tensor([-2.0, 0.0])) == 0.5
    assert strength_the_strokes_allow(logits, target, torch.tensor([2.0, 0.0])) == 1.0    # costs class 1 nothing
    assert strength_the_strokes_allow(logits, target, torch.tensor([-9.0, 0.0])) == 0.0
    target[0, 0, :] = -1                                                                  # no strokes: nothing to lose
    assert strength_the_strokes_allow(logits, target, torch.tensor([-9.0, 0.0])) == 1.0


def test_the_shift_applies_when_predicting_not_in_training():
    head = OutConv(4, 2)
    head.class_shift.copy_(torch.tensor([1.0, -1.0]))
    x = torch.randn(1, 4, 5, 5)
    plain = torch.nn.Conv2d.forward(head, x)
    head.train()
    torch.testing.assert_close(head(x), plain)
    head.eval()
    torch.testing.assert_close(head(x), plain + torch.tensor([1.0, -1.0]).view(1, 2, 1, 1))


def _model(shift) -> Model:
    torch.manual_seed(0)
    net = UNet(1, 2, depth=2, width=4).eval()
    net.outc.class_shift.copy_(torch.tensor(shift))
    return Model(net, ["background", "cell"])


def test_model_files_keep_the_shift(tmp_path):
    model = _model([0.4, -1.2])
    model.summary["class_shares"] = [0.7, 0.3]
    save_model(tmp_path / "m.pt", model)
    loaded = load_model(tmp_path / "m.pt")
    torch.testing.assert_close(loaded.net.outc.class_shift, torch.tensor([0.4, -1.2]))
    described = describe_model(tmp_path / "m.pt")
    assert "cell  rgb(230, 60, 60)  covers about 30% of the images trained on" in described
    image = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    np.testing.assert_allclose(predict_plane(loaded, image).probabilities,
                               predict_plane(model, image).probabilities, atol=1e-5)
    copied = model.copy()
    torch.testing.assert_close(copied.net.outc.class_shift, torch.tensor([0.4, -1.2]))


def test_files_without_a_shift_load_with_none_and_a_bad_one_is_refused(tmp_path):
    save_model(tmp_path / "m.pt", _model([0.4, -1.2]))
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    del payload["class_shift"]               # a file from before class shares
    torch.save(payload, tmp_path / "old.pt")
    assert torch.equal(load_model(tmp_path / "old.pt").net.outc.class_shift, torch.zeros(2))
    payload["class_shift"] = [0.1, 0.2, 0.3]
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(ModelError, match="class shift"):
        load_model(tmp_path / "bad.pt")


def lines_image(size: int = 128, seed: int = 0):
    """Thin dark lines (class 1, about 12 % of the pixels) through bright cells (class 2),
    strokes of both classes along their middles, as many pixels of each."""
    rng = np.random.default_rng(seed)
    truth = np.full((size, size), 2, np.uint8)
    for pos in range(12, size, 24):
        truth[pos - 1:pos + 2, :] = 1
        truth[:, pos - 1:pos + 2] = 1
    image = np.where(truth == 1, 300.0, 900.0) + rng.normal(0, 80, truth.shape)
    labels = np.zeros_like(truth)
    labels[36, 20:100] = 1                    # along a line
    labels[24:104, 60] = 1
    labels[30:34, 20:100] = 2                 # along the middle of cells, as many pixels
    labels[41:45, 20:100] = 2
    return image.astype(np.float32), truth, labels


def test_training_from_strokes_alone_measures_the_shares():
    image, truth, labels = lines_image()
    config = TrainConfig(steps=150, seed=0, preview_every=0.0, **TINY)   # from scratch (TINY)
    last = None
    for last in train([image], [labels], ["line", "cell"], config):
        pass
    shares = last.model.summary["class_shares"]
    true_share = float((truth == 1).mean())
    assert abs(shares[0] - true_share) < 0.1 and shares[0] < 0.35   # equal shares would be 0.5
    # The shift is the shares' (as far as the strokes allow: a quarter-step strength).
    shift, full = last.model.net.outc.class_shift.numpy(), class_shift(shares)
    assert any(np.allclose(shift, s * full, atol=1e-2) for s in (0.0, 0.25, 0.5, 0.75, 1.0))
    assert shift[0] < 0 < shift[1]
    without = TrainConfig(steps=150, seed=0, preview_every=0.0, class_shares=False, **TINY)
    for last in train([image], [labels], ["line", "cell"], without):
        pass
    assert "class_shares" not in last.model.summary
    assert torch.equal(last.model.net.outc.class_shift, torch.zeros(2))
