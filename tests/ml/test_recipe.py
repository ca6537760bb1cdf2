"""The recipe is decided in one place (ml/recipe.py): which terms a run trains with, their
weights and the learning rate, from the settings and what the run starts from."""
from __future__ import annotations

from types import SimpleNamespace

import torch

from unet_studio.ml.config import TrainConfig
from unet_studio.ml.model_file import Model, class_dicts
from unet_studio.ml.recipe import build_recipe
from unet_studio.ml.unet import OutConv, UNet


def _model(norm="group", shift=(0.3, -0.3)):
    torch.manual_seed(0)
    net = UNet(1, 2, depth=2, width=4, norm=norm)
    net.outc.class_shift.copy_(torch.tensor(shift))
    return Model(net, class_dicts(["background", "blob"]), summary={"class_shares": [0.7, 0.3]})


def _starting(trust, agreement_before=None):
    """Stands in for a measured ml/remember.Remembering: trust, agreement and a head to train,
    which the network keeps."""
    fitted, read = [], []
    head = OutConv(4, 3)
    return SimpleNamespace(trust=trust, agreement=0.95 if trust else 0.8, agreement_before=agreement_before,
                           head=head, start_head=lambda layer: fitted.append(layer) or True, fitted=fitted,
                           read_strokes=lambda layer, n: read.append((layer, n)) or True, read=read,
                           kept_by=lambda net: net.keep_starting_head(head))


def _names(recipe):
    return [t.name for t in recipe.terms]


def test_from_scratch_the_strokes_flip_consistency_corrections_and_class_shares():
    config = TrainConfig(consistency_after=150)
    model = _model()
    recipe = build_recipe(config, model, trained_before=40)
    assert recipe.lr == config.lr and recipe.said == ""
    assert _names(recipe) == ["strokes", "corrections", "flip_consistency", "class_shares"]
    flips = recipe.terms[2]
    assert flips.after_steps == 110 and not flips.applies(109) and flips.applies(110)   # earlier runs count
    assert model.net.outc.class_shift.any()   # class shares kept: they are measured again


def test_batchnorm_switches_the_corrections_off_and_zero_weights_drop_terms():
    recipe = build_recipe(TrainConfig(flip_consistency=0.0), _model(norm="batch"), painted_since=True)
    assert _names(recipe) == ["strokes", "class_shares"]


def test_without_class_shares_the_old_shift_is_cleared():
    model = _model()
    recipe = build_recipe(TrainConfig(balance_classes=False), model)
    assert "class_shares" not in _names(recipe)
    assert not model.net.outc.class_shift.any() and "class_shares" not in model.summary


def test_a_trusted_starting_model_is_kept_near_and_starts_the_output_layer():
    config = TrainConfig()
    model, starting = _model(), _starting(trust=0.5)
    recipe = build_recipe(config, model, starting)
    assert recipe.lr == config.finetune_lr and "it keeps what it knows and adapts" in recipe.said
    assert _names(recipe) == ["strokes", "remember", "corrections", "flip_consistency", "smoothness",
                              "anchor", "weight_average"]
    assert recipe.terms[1].weight == config.remember * 0.5
    assert starting.fitted == [model.net.outc] and starting.read == [] and recipe.answers_at_once
    assert recipe.first_answer is None
    assert not model.net.outc.class_shift.any()   # its layer starts from the model's own answer
    assert model.net.starting_head is starting.head   # the network keeps the remembered layer


def test_an_untrusted_starting_model_is_only_a_start():
    config = TrainConfig()
    model, starting = _model(), _starting(trust=0.0, agreement_before=0.8)
    recipe = build_recipe(config, model, starting)
    assert recipe.lr == config.lr and "of your first strokes" in recipe.said
    assert recipe.said.startswith("your images look new to the starting model") and "freely" not in recipe.said
    assert _names(recipe) == ["strokes", "corrections", "flip_consistency", "smoothness", "weight_average",
                              "class_shares"]
    # What is shown before the first step reads the strokes; the network's own layer is left to train.
    [(layer, n)] = starting.read
    assert starting.fitted == [] and layer is recipe.first_answer and layer is not model.net.outc and n == 2
    assert not recipe.answers_at_once
    assert model.net.starting_head is None and "starting_head" not in model.net.arch
