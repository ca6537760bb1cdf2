"""The loss: unlabeled pixels count for nothing, classes are balanced, borders weigh more."""
from __future__ import annotations

import numpy as np
import torch

from unet_studio.ml.loss import (IGNORE, balanced_class_weights, border_weight_map,
                                 labeled_cross_entropy, labels_to_target)


def test_loss_ignores_what_is_unlabeled(rng):
    logits = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0), requires_grad=True)
    labels = np.zeros((2, 16, 16), np.uint8)
    labels[:, 2:5, 2:9] = 1
    labels[:, 10:12, 4:14] = 3
    target = labels_to_target(torch.from_numpy(labels))
    loss = labeled_cross_entropy(logits, target)
    loss.backward()
    grad = logits.grad.abs().sum(dim=1)
    unlabeled = torch.from_numpy(labels == 0)
    assert float(grad[unlabeled].max()) == 0.0
    assert float(grad[~unlabeled].min()) > 0.0
    # Whatever the network says at unlabeled pixels leaves the loss unchanged.
    changed = logits.detach().clone()
    changed[:, :, unlabeled[0]] = torch.randn_like(changed[:, :, unlabeled[0]]) * 10
    assert torch.allclose(labeled_cross_entropy(changed, target), loss.detach())


def test_rare_class_weighs_as_much_as_common_class():
    target = torch.full((1, 10, 10), IGNORE)
    target[0, :9, :] = 0     # 90 pixels of class 0
    target[0, 9, :] = 1      # 10 pixels of class 1
    w = balanced_class_weights(target, 3)
    assert torch.isclose(w[0] * 90, w[1] * 10)
    assert float(w[2]) == 0.0
    # Mean weight over labeled pixels is 1, so the loss scale does not depend on the balance.
    assert torch.isclose((w[0] * 90 + w[1] * 10) / 100, torch.tensor(1.0))


def test_nothing_labeled_gives_zero_loss_not_nan():
    logits = torch.randn(1, 2, 8, 8, requires_grad=True)
    loss = labeled_cross_entropy(logits, torch.full((1, 8, 8), IGNORE))
    loss.backward()
    assert float(loss.detach()) == 0.0 and float(logits.grad.abs().sum()) == 0.0


def test_border_weights_are_high_in_the_gap_between_touching_objects():
    labels = np.ones((40, 60), np.uint8)   # class 1 = background
    labels[10:30, 5:28] = 2                # two objects 3 px apart
    labels[10:30, 31:55] = 2
    w = border_weight_map(labels, object_classes=[2])
    gap = w[20, 28:31]
    assert gap.min() > 5.0                 # w0 = 10 times exp(-(1+2)^2 / 50) ~ 8.3
    assert w[2, 2] < 0.1                   # far from both
    assert w[20, 29] > w[20, 15]           # the gap weighs more than an object's middle
    single = np.ones((40, 60), np.uint8)
    single[10:30, 5:28] = 2
    assert border_weight_map(single, [2]).max() == 0.0


def test_the_loss_is_the_mean_over_the_labeled_pixels_whatever_the_patch_size():
    """Normalised by the labeled-pixel count: the same strokes inside a patch four times as large
    (all the rest unlabeled) give the same loss, and one class's loss is its mean cross-entropy."""
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(1, 2, 8, 8, generator=gen)
    target = torch.full((1, 8, 8), IGNORE)
    target[0, 2:4, 1:7] = 1
    expected = torch.nn.functional.cross_entropy(logits, target.clamp(min=0), reduction="none")[target >= 0].mean()
    assert torch.isclose(labeled_cross_entropy(logits, target, balance=False), expected)
    big_logits = torch.randn(1, 2, 16, 16, generator=gen)
    big_logits[:, :, :8, :8] = logits
    big_target = torch.full((1, 16, 16), IGNORE)
    big_target[:, :8, :8] = target
    for balance in (False, True):
        assert torch.isclose(labeled_cross_entropy(big_logits, big_target, balance=balance),
                             labeled_cross_entropy(logits, target, balance=balance))
