"""Training: learns from scribbles, stops when asked, is reproducible, and uses new strokes."""
from __future__ import annotations

import numpy as np
import pytest

from unet_studio.core.errors import TrainingInputError
from unet_studio.core.labels import LabelVolume
from unet_studio.core.stack import Stack
from unet_studio.ml.predict import Prediction, predict_plane
from unet_studio.ml.train import TrainConfig, train

from .conftest import TINY
from .synthetic import blobs, iou, scribbles


def _run(gen):
    last = None
    for last in gen:
        pass
    return last


def test_short_training_learns_the_blobs(trained_model):
    image, truth = blobs(96, 8, seed=2)   # not the training image
    pred = predict_plane(trained_model, image)
    assert iou(pred.mask == 2, truth) > 0.8


def test_same_seed_same_weights_other_seed_other_weights(blob_training):
    image, _, labels = blob_training

    def weights(seed):
        p = _run(train([image], [labels], ["bg", "fg"], TrainConfig(steps=6, seed=seed, **TINY)))
        return [v.detach().clone() for v in p.model.net.state_dict().values()]

    a, b, c = weights(3), weights(3), weights(4)
    assert all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, b))
    assert not all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, c))


def test_reports_progress_and_stops_when_asked(blob_training):
    image, _, labels = blob_training
    reports = []
    gen = train([image], [labels], ["bg", "fg"], TrainConfig(seed=0, report_every=0, **TINY),
                should_stop=lambda: len(reports) >= 4)
    for progress in gen:
        reports.append(progress)
    steps = [p.step for p in reports]
    assert steps == sorted(steps) and reports[-1].done and not any(p.done for p in reports[:-1])
    assert np.isfinite(reports[-1].loss) and reports[-1].patches_per_s >= 0
    assert reports[-1].device.startswith("CPU")
    model = reports[-1].model
    assert not model.net.training   # ready to predict
    assert model.summary["steps"] == reports[-1].step


def test_the_runs_loss_is_the_mean_of_its_last_steps_not_one_steps_chance(blob_training):
    from unet_studio.ml.train import RUN_LOSS_STEPS

    image, _, labels = blob_training
    reports = list(train([image], [labels], ["bg", "fg"], TrainConfig(steps=30, seed=0, report_every=0, **TINY)))
    each_step, last = reports[:-1], reports[-1]
    assert [r.step for r in each_step] == list(range(1, 31)) and last.done
    assert last.loss == pytest.approx(np.mean([r.loss for r in each_step[-RUN_LOSS_STEPS:]]), rel=1e-5)
    assert last.loss != pytest.approx(each_step[-1].loss)


def test_closing_the_generator_stops_between_steps(blob_training):
    image, _, labels = blob_training
    gen = train([image], [labels], ["bg", "fg"], TrainConfig(seed=0, report_every=0, **TINY))
    first = next(gen)
    gen.close()
    assert first.step == 1
    # The model is usable after an abrupt stop.
    pred = predict_plane(first.model, image)
    assert pred.mask.shape == image.shape


def test_time_budget_ends_training(blob_training):
    image, _, labels = blob_training
    last = _run(train([image], [labels], ["bg", "fg"], TrainConfig(time_budget=1.0, seed=0, **TINY)))
    assert last.done and last.elapsed >= 1.0 and last.step >= 1


def test_preview_of_a_requested_plane_and_region(blob_training):
    image, _, labels = blob_training
    requests = iter([(0, 0, 0), (0, 0, 0, (8, 40, 16, 80)), None, (5, 0, 0)])
    previews = []
    for p in train([image], [labels], ["bg", "fg"], TrainConfig(steps=8, seed=0, preview_every=0, preview_share=1.0,
                                                             **TINY),
                   preview_request=lambda: next(requests, None)):
        if p.preview is not None:
            previews.append(p)
    assert [p.preview_for for p in previews] == [(0, 0, 0), (0, 0, 0, (8, 40, 16, 80))]
    assert isinstance(previews[0].preview, Prediction) and previews[0].preview.mask.shape == (96, 96)
    assert previews[1].preview.mask.shape == (32, 64)


def test_slow_previews_leave_most_of_the_time_to_training(blob_training, monkeypatch):
    """A preview that takes d seconds (a big plane on a CPU) waits 3 d before the next one
    (preview_share 0.25), however often previews are asked for."""
    import time

    from unet_studio.ml import train as train_module

    image, _, labels = blob_training
    quick_preview = train_module.live_preview

    def slow_preview(*args):
        time.sleep(0.15)
        return quick_preview(*args)

    monkeypatch.setattr(train_module, "live_preview", slow_preview)
    config = TrainConfig(time_budget=2.5, seed=0, preview_every=0, preview_share=0.25, **TINY)
    shown = [p.elapsed for p in train([image], [labels], ["bg", "fg"], config,
                                      preview_request=lambda: (0, 0, 0)) if p.preview is not None]
    assert len(shown) >= 2
    # Each gap: 3 x the preview's 0.15 s of waiting, then the next preview's own 0.15 s.
    assert min(b - a for a, b in zip(shown, shown[1:])) >= 0.6


def test_strokes_painted_while_training_are_used():
    """Class 3 ("dark square") has no stroke at first; strokes added mid-training are learned."""
    image, truth = blobs(96, 6, seed=4)
    image[60:90, 5:35] = 0                      # a dark square the blobs never overlap
    truth[60:90, 5:35] = False
    stack = Stack.from_array(image, "YX")
    labels = LabelVolume.for_stack(stack)
    labels.add_class("dark square")
    labels.data[...] = scribbles(truth, seed=4)
    labels.data[60:90, 5:35] = 0
    labels.version += 1
    seen_before = seen_after = None
    gen = train([stack], [labels], labels.classes, TrainConfig(steps=160, seed=0, report_every=0, **TINY))
    for p in gen:
        if p.step == 40 and seen_before is None:
            seen_before = p.labeled[2]
            with labels.stroke():
                labels.paint_line(0, 0, 75, 10, 75, 30, 3, 3)
        if p.done:
            seen_after = p.labeled[2]
            model = p.model
    assert seen_before == 0 and seen_after > 0
    pred = predict_plane(model, image)
    assert (pred.mask[65:85, 10:30] == 3).mean() > 0.9
    assert (pred.mask[truth] == 3).mean() < 0.05


def test_stacks_with_labels_on_one_plane(blob_training):
    image, _, labels = blob_training
    other = blobs(96, 8, seed=7)[0]
    stack = Stack.from_array(np.stack([other, image, other]), "ZYX", name="zstack")
    volume = LabelVolume.for_stack(stack)
    volume.data[1] = labels
    last = _run(train([stack], [volume], volume.classes, TrainConfig(steps=3, seed=0, **TINY)))
    assert last.done and last.model.summary["images"] == ["zstack"]


def test_fine_tuning_keeps_the_weights_and_replaces_the_output_for_new_classes(trained_model, blob_training):
    image, truth, labels = blob_training
    first = next(train([image], [labels], ["bg", "fg"], TrainConfig(steps=2, seed=0, lr=1e-5, **TINY),
                       init=trained_model))
    assert "continuing from the current model" in first.message
    assert first.loss < 0.4   # starts from what was learned, not from scratch (~0.7)
    three = labels.copy()
    three[:4, :4] = 3
    first = next(train([image], [three], ["bg", "fg", "corner"], TrainConfig(steps=2, seed=0, **TINY),
                       init=trained_model))
    assert "learning 3 classes now (the model knew 2)" in first.message
    assert first.model.n_classes == 3


def test_a_class_added_to_a_model_is_not_shown_before_it_is_painted(trained_model, blob_training):
    """The classes the model knew keep their answer; the new one starts unlikely everywhere."""
    from unet_studio.ml.predict import predict_plane

    image, truth, labels = blob_training
    before = predict_plane(trained_model, image)
    start = next(train([image], [labels], ["background", "blob", "debris"],
                       TrainConfig(steps=1, seed=0, lr=1e-9, **TINY), init=trained_model))
    model = start.model.copy()
    model.net.eval()
    after = predict_plane(model, image)
    assert model.n_classes == 3 and not (after.mask == 3).any()
    assert (after.mask == before.mask).mean() > 0.95   # (a new output layer: about half)
    assert after.probabilities[2].max() < 0.05


def test_border_weights_and_valid_padding_train():
    image, truth = blobs(96, 10, seed=8)
    labels = scribbles(truth, seed=8)
    last = _run(train([image], [labels], ["bg", "fg"],
                      TrainConfig(steps=3, seed=0, border_weight=True, padding="valid", width=4, depth=2,
                                  batch=2, patch=64)))
    assert last.done and np.isfinite(last.loss)
    assert predict_plane(last.model, image).mask.shape == image.shape


@pytest.mark.parametrize("case, match", [
    ("nothing", "nothing is labeled"),
    ("one class", "only class 2"),
    ("shape", "shape"),
    ("channels", "channel"),
    ("too many", "class 5"),
    ("count", "label"),
])
def test_bad_training_input_is_refused_before_training(case, match):
    image, truth = blobs(64, 4, seed=1)
    labels = scribbles(truth, seed=1)
    images, label_list = [image], [labels]
    if case == "nothing":
        label_list = [np.zeros_like(labels)]
    elif case == "one class":
        label_list = [np.where(labels == 2, 2, 0).astype(np.uint8)]
    elif case == "shape":
        label_list = [labels[:50]]
    elif case == "channels":
        images, label_list = [image, np.stack([image, image])], [labels, labels]
    elif case == "too many":
        labels = labels.copy()
        labels[0, 0] = 5
        label_list = [labels]
    elif case == "count":
        label_list = [labels, labels]
    with pytest.raises(TrainingInputError, match=match):
        train(images, label_list, ["bg", "fg"], TrainConfig(steps=1, **TINY))


def test_a_class_added_while_training_does_not_stop_it(blob_training):
    image, _, labels = blob_training
    stack = Stack.from_array(image, "YX")
    volume = LabelVolume.for_stack(stack)
    volume.data[...] = labels
    messages = []
    gen = train([stack], [volume], volume.classes, TrainConfig(steps=8, seed=0, report_every=0, **TINY))
    for p in gen:
        messages.append(p.message)
        if p.step == 2 and volume.n_classes == 2:
            k = volume.add_class("new")
            volume.paint_disc(0, 0, 40, 40, 6, k)
    assert p.done and p.step == 8 and p.model.n_classes == 2
    assert any("new class" in m for m in messages)
