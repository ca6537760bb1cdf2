"""The kept answers let go of pixels that look like the corrected ones, and only of those."""
from __future__ import annotations

import torch

from unet_studio.ml.corrected_look import CorrectedLook


def _scene():
    """One row of 12 pixels with 2 features: cells (feature 0), halo (features 0 and 1: bright
    like a cell, but not only), background (feature 1). The earlier answer: cell (1) on cells and
    halo, background (0) elsewhere."""
    cell, halo, back = [1.0, 0.0], [0.8, 0.6], [0.0, 1.0]
    kinds = [cell] * 4 + [halo] * 4 + [back] * 4
    features = torch.tensor(kinds).T.reshape(1, 2, 1, 12)
    answer = torch.tensor([[[1] * 8 + [0] * 4]])
    return features, answer


def test_pixels_like_the_corrected_ones_are_released_and_the_confirmed_kept():
    features, answer = _scene()
    target = torch.full((1, 1, 12), -1)
    target[0, 0, 0] = 1    # a stroke on a cell: the answer there was right
    target[0, 0, 4] = 0    # a correction on the halo: the answer "cell" was wrong
    released = CorrectedLook().released(features, answer, target)[0, 0].tolist()
    assert released[5:8] == [True] * 3     # the rest of the halo
    assert released[1:4] == [False] * 3    # the cells the strokes confirm
    assert released[8:] == [False] * 4     # an answer nothing contradicted
    assert not released[0] and not released[4]   # painted pixels are the strokes' business


def test_nothing_is_released_without_a_contradicting_stroke():
    features, answer = _scene()
    target = torch.full((1, 1, 12), -1)
    target[0, 0, 0], target[0, 0, 10] = 1, 0
    assert not CorrectedLook().released(features, answer, target).any()


def test_the_means_carry_over_to_patches_without_a_correction():
    features, answer = _scene()
    look = CorrectedLook()
    target = torch.full((1, 1, 12), -1)
    target[0, 0, 0], target[0, 0, 4] = 1, 0
    look.released(features, answer, target)
    unpainted = torch.full((1, 1, 12), -1)
    assert look.released(features, answer, unpainted)[0, 0, 4:8].all()
