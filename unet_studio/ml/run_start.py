"""Where a training run starts: a new network, the built-in starting model, or the user's model.

Without a model to train on, the starting model (ml/starting_model.py) is fine-tuned when the
architecture asked for is its own; else a new network is built. A model trained on keeps its
architecture and, when the classes changed, gets a new output layer: a class it knew (by name)
keeps its weights there, a new one starts unlikely (never shown before it is painted).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from unet_studio import __version__
from unet_studio.core.errors import ModelError
from unet_studio.ml.config import TrainConfig
from unet_studio.ml.data import TrainingSet
from unet_studio.ml.device import default_width, training_memory_format
from unet_studio.ml.model_file import Model
from unet_studio.ml.normalise import HIGH_PCT, LOW_PCT
from unet_studio.ml.starting_model import (asks_for_starting_arch, for_classes,
                                           is_fine_tuned_from_starting_model, load_starting_model,
                                           starting_arch)
from unet_studio.ml.unet import OutConv, UNet


@dataclass
class RunStart:
    """model: the user's model this run trains (its net on `device`, in training mode);
    message: for the user; untouched: the starting model as shipped, when fine-tuning it."""
    model: Model
    device: torch.device
    message: str = ""
    untouched: Model | None = None


def steps_trained(summary: dict) -> int:
    """Training steps behind a model with this summary, over all its runs (0 if it does not say)."""
    return int(summary.get("steps") or 0) + int(summary.get("fine_tuned_after_steps") or 0)


def starting_point(config: TrainConfig, data: TrainingSet, classes: list[dict], init: Model | None,
                   device: torch.device, seed: int) -> RunStart:
    """The model a run trains, from `init` (the user's model) or else as the config asks;
    `seed` seeds the new weights."""
    starting_message = ""
    untouched = None
    if init is None and config.starting_model and asks_for_starting_arch(config.width, config.depth,
                                                                           config.padding):
        try:
            untouched = load_starting_model(starting_arch()["n_classes"], data.in_channels)
            init = for_classes(untouched.copy(), len(classes), classes, new_layer=True)   # read once
        except (FileNotFoundError, ModelError) as e:
            starting_message = f"training from scratch: no usable starting model ({e})"
    torch.manual_seed(seed)
    net, message = _build_net(data.in_channels, classes, config, device, init)
    message = "fine-tuning the built-in starting model" if untouched is not None else message or starting_message
    model = Model(net, classes, {"method": "percentile", "low_pct": LOW_PCT, "high_pct": HIGH_PCT,
                                 "training_images": [n.to_dict() for n in data.normalisations]},
                  dict(init.summary) if init is not None else {}, __version__)
    if untouched is None and init is not None and is_fine_tuned_from_starting_model(init):
        untouched = load_starting_model(starting_arch()["n_classes"], data.in_channels)
    return RunStart(model, device, message, untouched)


# A new class's logit starts this far below the lowest of the classes the model knew.
NEW_CLASS_BELOW = 4.0


def _build_net(in_channels: int, classes: list[dict], config: TrainConfig, device: torch.device,
               init: Model | None) -> tuple[UNet, str]:
    n_classes = len(classes)
    if init is None:
        width = config.width or default_width(device)
        net = UNet(in_channels, n_classes, config.depth, width, config.norm, config.padding)
        message = ""
    else:
        a = init.arch
        net = UNet(in_channels, a["n_classes"], a["depth"], a["width"], a["norm"], a["padding"],
                   a.get("starting_head", 0))
        net.load_state_dict(init.net.state_dict())
        net.outc.class_shift.copy_(init.net.outc.class_shift)   # measured, not in the state dict
        message = f"continuing from the current model ({init.n_classes} classes)"
        if a["n_classes"] != n_classes:
            net.outc = _output_for(net.outc, [c["name"] for c in init.classes], [c["name"] for c in classes])
            net.arch["n_classes"] = n_classes
            message = (f"learning {n_classes} classes now (the model knew {init.n_classes}): what it "
                       "learned of the images carries over")
    return net.to(device, memory_format=training_memory_format(device)).train(), message


def _output_for(old: OutConv, known: list[str], names: list[str]) -> OutConv:
    """An output layer for the classes `names`, from `old` (for the classes `known`): where some
    are known by name, they keep their weights and the new ones start NEW_CLASS_BELOW under the
    rest (a class just added, not painted yet, is not shown everywhere); else all start anew."""
    new = OutConv(old.in_channels, len(names))
    if not set(names) & set(known):
        return new
    with torch.no_grad():
        floor = float(old.bias.min()) - NEW_CLASS_BELOW
        for k, name in enumerate(names):
            if name in known:
                j = known.index(name)
                new.weight[k], new.bias[k], new.class_shift[k] = old.weight[j], old.bias[j], old.class_shift[j]
            else:
                new.weight[k].zero_()
                new.bias[k] = floor
    return new
