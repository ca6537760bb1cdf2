"""Fine-tuning keeps what the starting model knows, as far as it agrees with the strokes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from torch.nn import functional as F

from unet_studio.ml import starting_model as sm
from unet_studio.ml.remember import NO_TRUST_BELOW, Remembering, agreement, reading, trust
from unet_studio.ml.train import TrainConfig, train
from unet_studio.ml.unet import OutConv

from .synthetic import blobs, scribbles

QUICK = dict(batch=2, patch=64, device="cpu")


def test_agreement_reads_each_starting_class_as_the_user_class_it_covers_most():
    # Rows: user classes; columns: starting classes background / object / boundary.
    clean = np.array([[98.0, 1, 1], [2, 80, 18]])
    assert agreement(clean) == pytest.approx((0.98 + 0.98) / 2)
    # Strokes of both user classes fall mostly on the same starting class: half is read wrong.
    muddled = np.array([[10.0, 80, 10], [10, 70, 20]])
    assert agreement(muddled) < 0.65
    # The names or order of the user's classes do not matter.
    assert agreement(clean[::-1]) == pytest.approx(agreement(clean))
    # One class with strokes says nothing about separating classes.
    assert agreement(np.array([[5.0, 90, 5], [0, 0, 0]])) == 0.0


def test_reading_gives_each_starting_class_the_user_class_whose_strokes_it_covers_most():
    # Rows: user classes background / nucleus; columns: starting background / object / boundary.
    # Strokes along the middle of small nuclei sit near their rim, so "boundary" reads as nucleus.
    counts = np.array([[98.0, 1, 30], [2, 80, 60]])
    assert reading(counts).tolist() == [0, 1, 1]
    assert reading(counts[::-1]).tolist() == [1, 0, 0]


def test_trust_is_none_up_to_the_threshold_and_full_at_full_agreement():
    assert trust(NO_TRUST_BELOW) == 0.0 and trust(0.5) == 0.0
    assert trust(1.0) == 1.0
    assert 0.0 < trust((NO_TRUST_BELOW + 1.0) / 2) < 1.0


def _normalised(image: np.ndarray) -> torch.Tensor:
    """(Y, X) -> (1, 1, Y, X) float32 scaled to 0..1."""
    return torch.from_numpy(((image - image.min()) / np.ptp(image)).astype(np.float32))[None, None]


def _untouched_outputs_drift(image, labels, classes, remember: float) -> tuple[float, float | None, list]:
    """Mean KL from the untouched starting model's output to the fine-tuned network's features
    read by the starting model's own output layer, after fine-tuning; the agreement; the messages."""
    config = TrainConfig(steps=40, seed=0, anchor=0.0, remember=remember, **QUICK)
    reports = list(train([image], [labels], classes, config))
    messages, progress = [r.message for r in reports], reports[-1]
    untouched = sm.load_starting_model(3, 1).net.eval()
    tuned = progress.model.net.eval()
    x = _normalised(image)
    with torch.no_grad():
        target = F.softmax(untouched(x), 1)
        read = F.log_softmax(untouched.outc(tuned.features(x)), 1)
    drift = float(F.kl_div(read, target, reduction="sum")) / (x.shape[-1] * x.shape[-2])
    return drift, progress.model.summary.get("starting_model_agreement"), messages


def test_on_images_it_explains_the_starting_model_is_kept():
    image, truth = blobs(128, n=10, seed=6)
    labels = scribbles(truth, seed=6)
    kept, agreed, said = _untouched_outputs_drift(image, labels, ["background", "blob"], remember=50.0)
    forgotten, _, _ = _untouched_outputs_drift(image, labels, ["background", "blob"], remember=0.0)
    assert agreed > NO_TRUST_BELOW
    assert any("it keeps what it knows" in m for m in said)
    assert kept < 0.5 * forgotten


def _noise_halves() -> tuple[np.ndarray, np.ndarray]:
    """Left half one class, right half the other, on plain noise: nothing the starting model
    knows separates them."""
    rng = np.random.default_rng(0)
    image = rng.normal(100, 10, (128, 128)).astype(np.float32)
    labels = np.zeros((128, 128), np.uint8)
    labels[::8, 8:56], labels[::8, 72:120] = 1, 2
    return image, labels


def test_strokes_it_cannot_explain_turn_remembering_off():
    image, labels = _noise_halves()
    messages = []
    config = TrainConfig(steps=3, seed=0, **QUICK)
    for progress in train([image], [labels], ["left", "right"], config):
        messages.append(progress.message)
    assert progress.model.summary["starting_model_agreement"] <= NO_TRUST_BELOW
    assert not any("keeps what it knows" in m for m in messages)
    # said in the user's words: what it means for them, not how the loss is weighted
    said = [m for m in messages if "look new to the starting model" in m]
    assert said and "learns them from your strokes" in said[0] and "freely" not in said[0]
    # Its new output layer learned from the strokes alone: predictions use the class shares.
    assert len(progress.model.summary["class_shares"]) == 2


@pytest.mark.parametrize("explained", [True, False])
def test_trust_chooses_the_learning_rate_and_whether_the_anchor_holds(explained):
    """Strokes the starting model explains: the fine-tuning lr, and an anchor that (at anchor * lr
    = 1) puts the body back after every step. Strokes it cannot explain: the plain lr, and
    nothing pulls the body back, however strong the anchor asked for."""
    if explained:
        image, truth = blobs(128, n=10, seed=6)
        labels, classes = scribbles(truth, seed=6), ["background", "blob"]
    else:
        (image, labels), classes = _noise_halves(), ["left", "right"]
    start = sm.load_starting_model(2, 1).net.state_dict()
    # Open-ended (no budget, so no decay): after a 1-step warm-up the lr is the recipe's.
    config = TrainConfig(seed=0, lr=1e-3, finetune_lr=3e-4, anchor=1.0 / 3e-4, remember=0.0,
                         average_weights=0.0, warmup_steps=1, report_every=0.0, **QUICK)
    for progress in train([image], [labels], classes, config):
        if progress.step >= 3:
            break
    tuned = progress.model.net.state_dict()
    body = [k for k in start if not k.startswith("outc.") and start[k].is_floating_point()]
    moved = max(float((tuned[k].cpu() - start[k]).abs().max()) for k in body)
    assert progress.lr == pytest.approx(3e-4 if explained else 1e-3)
    assert (moved < 1e-6) if explained else (moved > 1e-4)


def _untouched_objects(image: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """The normalised image (1, 1, Y, X) and the untouched model's objects (object + boundary)."""
    x = _normalised(image)
    with torch.no_grad():
        probs = F.softmax(sm.load_starting_model(3, 1).net.eval()(x), 1)[0]
    return x, (probs[1] + probs[2] > probs[0]).numpy()


def test_a_trusted_starting_model_gives_the_new_output_layer_its_own_answer():
    """The user's new output layer starts as the untouched model's answer read in the user's
    classes (here object + boundary -> blob), not undecided: the first preview already shows
    the blobs the starting model sees, rim included."""
    image, truth = blobs(128, n=10, seed=6)
    labels = scribbles(truth, seed=6)
    # A learning rate of ~0 keeps the one step from changing anything: what is seen is the start.
    config = TrainConfig(steps=1, seed=0, lr=1e-12, finetune_lr=1e-12, **QUICK)
    progress = list(train([image], [labels], ["background", "blob"], config))[-1]
    assert progress.model.summary["starting_model_agreement"] > NO_TRUST_BELOW
    # The layer starts from the model's own answer, which has its images' shares: no shift.
    assert "class_shares" not in progress.model.summary and not progress.model.net.outc.class_shift.any()
    x, untouched = _untouched_objects(image)
    with torch.no_grad():
        shown = progress.model.net.eval()(x).argmax(1)[0].numpy() == 1
    iou = (shown & untouched).sum() / (shown | untouched).sum()
    assert iou > 0.9


def _trust_batch(image: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return _normalised(image), torch.from_numpy(labels.astype(np.int64) - 1)[None]


def test_an_untrusted_model_or_a_trained_output_layer_is_left_alone():
    cpu = torch.device("cpu")
    untrusted = Remembering(sm.load_starting_model(3, 1).net, cpu)
    untrusted.measure_trust([_trust_batch(*_noise_halves())], 2)
    head = OutConv(16, 2)
    torch.nn.init.zeros_(head.weight), torch.nn.init.zeros_(head.bias)
    assert untrusted.trust == 0 and not untrusted.start_head(head)
    assert not head.weight.any() and not head.bias.any()

    image, truth = blobs(128, n=10, seed=6)
    trusted = Remembering(sm.load_starting_model(3, 1).net, cpu)
    trusted.measure_trust([_trust_batch(image, scribbles(truth, seed=6))], 2)
    users = OutConv(16, 2)   # the user's own layer, from an earlier run: kept
    before = users.weight.detach().clone()
    assert trusted.trust > 0 and not trusted.start_head(users)
    assert torch.equal(users.weight, before)
    assert trusted.start_head(head) is False   # the pixels measured on are used once


def _two_textures() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, strokes, truth): grainy and smooth bands 32 px wide, of the same mean brightness,
    a stroke down the middle of each; truth 0 within 4 px of a band's edge, where either is
    right. The starting model (nuclei) sees no object in either, so it does not explain the
    strokes; its features still tell grain from smooth."""
    rng = np.random.default_rng(1)
    image = rng.normal(100, 2, (128, 128)).astype(np.float32)
    column = np.arange(128)
    grain = (column // 32) % 2 == 0
    image[:, grain] += rng.normal(0, 40, (128, int(grain.sum()))).astype(np.float32)
    inside = np.abs(column % 32 - 15.5) < 12
    truth = np.where(inside, np.where(grain, 1, 2), 0)[None, :].repeat(128, 0).astype(np.uint8)
    labels = np.zeros((128, 128), np.uint8)
    for x in range(16, 128, 32):
        labels[16:112, x - 1:x + 2] = truth[0, x]
    return image, labels, truth


def _right(mask: np.ndarray, truth: np.ndarray) -> float:
    return float((mask == truth)[truth > 0].mean())


def test_an_untrusted_starting_models_new_layer_reads_the_strokes_on_its_features():
    cpu = torch.device("cpu")
    image, labels, truth = _two_textures()
    untrusted = Remembering(sm.load_starting_model(3, 1).net, cpu)
    untrusted.measure_trust([_trust_batch(image, labels)], 2)
    head = OutConv(16, 2)
    torch.nn.init.zeros_(head.weight), torch.nn.init.zeros_(head.bias)
    assert untrusted.trust == 0 and not untrusted.start_head(head)
    assert untrusted.read_strokes(head, 2)
    with torch.no_grad():
        shown = head(untrusted.teacher.features(_normalised(image))).argmax(1)[0].numpy() + 1
    assert _right(shown, truth) > 0.8   # an undecided layer: 0.5
    assert not untrusted.read_strokes(head, 2)    # a layer already fitted, or trained, is left alone

    trusted_image, blob_truth = blobs(128, n=10, seed=6)
    trusted = Remembering(sm.load_starting_model(3, 1).net, cpu)
    trusted.measure_trust([_trust_batch(trusted_image, scribbles(blob_truth, seed=6))], 2)
    fresh = OutConv(16, 2)
    torch.nn.init.zeros_(fresh.weight), torch.nn.init.zeros_(fresh.bias)
    assert trusted.trust > 0 and not trusted.read_strokes(fresh, 2)   # start_head's to start
    assert not fresh.weight.any()


def test_an_untrusted_run_shows_the_strokes_read_before_its_first_step_and_trains_its_own_layer():
    image, labels, truth = _two_textures()
    config = TrainConfig(steps=2, seed=0, lr=1e-12, **QUICK)   # steps that change nothing
    reports = list(train([image], [labels], ["grain", "smooth"], config, preview_request=lambda: (0, 0, 0)))
    first = reports[0]
    assert first.step == 0 and "look new to the starting model" in first.message
    assert _right(first.preview.mask, truth) > 0.8   # an undecided layer: 0.5
    # The network trains from its own undecided layer: what it shows after a step is not the read one.
    assert reports[-1].model.net.outc.weight.abs().max() < 1e-6


def test_training_again_after_painting_lets_go_of_what_the_new_strokes_contradict(monkeypatch):
    """Stop, paint, Train again from the user's model: the agreement it was first fine-tuned
    with is kept, the classes are read again, and the strokes that contradict the starting
    model (a blob painted background) are not remembered."""
    import unet_studio.ml.train as train_module
    from unet_studio.ml.recipe import build_recipe
    image, truth = blobs(128, n=10, seed=6)
    labels = scribbles(truth, seed=6)
    config = TrainConfig(steps=3, seed=0, **QUICK)
    for first in train([image], [labels], ["background", "blob"], config):
        pass
    agreed = first.model.summary["starting_model_agreement"]
    assert agreed > NO_TRUST_BELOW
    painted = np.array(labels)
    painted[truth & (painted == 0)] = 1   # every blob pixel not yet painted: "background"
    built = []

    def kept(*args, **kwargs):
        built.append(build_recipe(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(train_module, "build_recipe", kept)
    for again in train([image], [painted], ["background", "blob"], config, init=first.model):
        pass
    assert again.model.summary["starting_model_agreement"] == agreed
    remember = next(t for t in built[0].terms if t.name == "remember")
    assert remember.starting.reading is not None and remember.starting.look is not None
    assert remember.starting.look.wrong   # the contradicting strokes were seen


def test_a_trusted_fine_tuning_keeps_the_starting_models_boundary(monkeypatch):
    """The fine-tuned network keeps the starting model's output layer: its prediction gives the
    boundary between touching cells, and training again goes on with the same layer."""
    import unet_studio.ml.remember as remember_module
    from unet_studio.ml.predict import predict_plane

    image, truth = blobs(128, n=10, seed=6)
    labels = scribbles(truth, seed=6)
    config = TrainConfig(steps=3, seed=0, **QUICK)
    for first in train([image], [labels], ["background", "blob"], config):
        pass
    net = first.model.net
    assert net.starting_head is not None and net.arch["starting_head"] == 3
    # A clump of 2 x 2 bright cells, dim lines between them.
    cells = np.full((96, 96), 0.1, np.float32)
    cells[16:80, 16:80] = 0.9
    cells[16:80, 47:49] = cells[47:49, 16:80] = 0.35
    prediction = predict_plane(first.model, (cells * 255).astype(np.uint8))
    boundary = prediction.boundary
    assert boundary[22:42, 47:49].mean() > 0.5 > boundary[24:40, 24:40].mean() + 0.3
    assert prediction.mask[22:74, 47:49].min() == 2   # the user's class: one piece ...
    assert prediction.instances(2).max() == 4         # ... parted along the boundary

    seen = []
    original = remember_module.Remembering.kept_by

    def kept_by(self, network):
        original(self, network)
        seen.append(self.head is network.starting_head)

    monkeypatch.setattr(remember_module.Remembering, "kept_by", kept_by)
    before = net.starting_head.weight.detach().clone()
    for again in train([image], [labels], ["background", "blob"], config, init=first.model):
        pass
    assert seen == [True] and again.model.net.starting_head is not None
    assert not torch.equal(again.model.net.starting_head.weight, before)   # trained on, not replaced


def test_an_untrusted_fine_tuning_keeps_no_boundary():
    image, labels = _noise_halves()
    for done in train([image], [labels], ["left", "right"], TrainConfig(steps=2, seed=0, **QUICK)):
        pass
    assert done.model.net.starting_head is None and "starting_head" not in done.model.arch


def _painted_across(truth: np.ndarray, brush: float = 0.4, past: float = 0.0) -> np.ndarray:
    """Each blob painted as people paint small objects: one stroke across it through its
    centre, `past` of its radius past its edges, with a brush `brush` of its diameter whose
    round ends spill further; background strokes along the image's edges."""
    labels = np.zeros(truth.shape, np.uint8)
    labels[2:6, :] = labels[:, 2:6] = labels[-6:-2, :] = 1
    blobs_, n = ndimage.label(truth)
    yy, xx = np.mgrid[:truth.shape[0], :truth.shape[1]]
    for i in range(1, n + 1):
        cy, cx = ndimage.center_of_mass(blobs_ == i)
        radius = np.sqrt((blobs_ == i).sum() / np.pi)
        along = np.clip(xx - cx, -(1 + past) * radius, (1 + past) * radius)   # a horizontal stroke
        labels[np.hypot(yy - cy, xx - (cx + along)) <= brush * radius] = 2
    labels[(labels == 1) & truth] = 0
    return labels


def test_the_starting_models_agreement_is_measured_where_the_hand_aimed():
    """Nuclei painted with a brush wider than their rim: across each, its round ends spilling
    past the nucleus, or all around it. The starting model reads the spill as background,
    rightly; counted like the stroke's centre, that reads as a model that does not know
    nuclei. The agreement is measured on the pixels training trusts fully: where the hand aimed."""
    image, truth = blobs(128, n=10, seed=6)
    around = np.where(ndimage.binary_dilation(truth, iterations=3), 2, 0).astype(np.uint8)
    border = np.zeros_like(truth)
    border[2:6, :] = border[:, 2:6] = border[-6:-2, :] = True
    around[border & (around == 0)] = 1

    def agreement_with(labels, power: float) -> float:
        config = TrainConfig(steps=1, seed=0, trust_stroke_centres=power, **QUICK)
        return list(train([image], [labels], ["background", "nucleus"], config))[-1].model.summary[
            "starting_model_agreement"]

    for labels in (around, _painted_across(truth, brush=0.6)):
        assert ((labels == 2) & ~truth).sum() > 0.15 * (labels == 2).sum()    # spilled
        alike, aimed = agreement_with(labels, 0.0), agreement_with(labels, 3.0)
        assert alike <= NO_TRUST_BELOW < aimed        # pixels alike: not trusted at all


class _OnePatch:
    """A TrainingSet's `sample` for measure_trust_on: the same whole image every time, and the
    pixels' stroke trust (`trust`) as their weights when asked for."""
    n_classes = 2

    def __init__(self, image: np.ndarray, labels: np.ndarray, trust: np.ndarray):
        self.image, self.labels, self.trust = _normalised(image).numpy(), labels, trust

    def sample(self, rng, batch, size, trust_centres=0.0, **_):
        return self.image, self.labels[None], (self.trust[None] if trust_centres > 0 else None)


def test_pixels_trusted_less_than_fully_do_not_count_in_the_agreement():
    """Strokes inside each blob, trusted fully, and spill onto the background around them,
    trusted half: the agreement is that of the strokes without the spill."""
    image, truth = blobs(128, n=10, seed=6)
    inside = scribbles(truth, seed=6)
    spill = ndimage.binary_dilation(truth, iterations=2) & ~truth
    labels = np.where(spill, 2, inside).astype(np.uint8)
    trust = np.where(spill, 0.5, labels > 0).astype(np.float32)

    def agreement_on(labels, power):
        starting = Remembering(sm.load_starting_model(3, 1).net, torch.device("cpu"))
        return starting.measure_trust_on(_OnePatch(image, labels, trust), 0, 1, 128, 0, torch.device("cpu"), power)

    aimed, without_spill = agreement_on(labels, 3.0), agreement_on(inside, 0.0)
    assert aimed == pytest.approx(without_spill, abs=1e-6)
    assert agreement_on(labels, 0.0) < aimed - 0.05
