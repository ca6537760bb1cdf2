"""The built-in starting model: a small U-Net trained on nuclei and membranes, to fine-tune.

A network that has already learned what edges, blobs, membranes and touching nuclei look
like needs far fewer strokes and seconds than one starting from random weights (the way
Cellpose starts from its generalist models). The weights ship as
resources/starting_model.pt (reproduced by packaging/starting_model/train_starting_model.py;
data and licence in packaging/starting_model/README.md). They were trained on one grey
channel with 3 classes: background, object, object boundary.

`load_starting_model` adapts it to the user's task: the output layer to the user's class
count, the first convolution to the image's channel count. Training always gives it a new
output layer (`for_classes(..., new_layer=True)`): the user's classes are theirs to name and
order, so even three of them are not its background, object and boundary.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch

from unet_studio.core.errors import ModelError
from unet_studio.ml.model_file import Model, class_dicts, load_model
from unet_studio.ml.unet import OutConv

STARTING_MODEL_FILE = "starting_model.pt"


def starting_model_path() -> Path:
    """Path of the shipped weights; FileNotFoundError (naming the file) if the install lacks it."""
    from unet_studio.resources import _resource_path
    return _resource_path(STARTING_MODEL_FILE)


def has_starting_model() -> bool:
    """True when this installation ships the starting model."""
    try:
        starting_model_path()
    except FileNotFoundError:
        return False
    return True


def starting_arch() -> dict:
    """The architecture of the starting model (depth, width, norm, padding, ...)."""
    path = starting_model_path()
    return dict(_arch_of(str(path), path.stat().st_mtime_ns))


@functools.cache
def _arch_of(path: str, mtime_ns: int) -> dict:
    """Read once per file version: train() asks several times before every run."""
    return load_model(path).arch


def asks_for_starting_arch(width: int | None, depth: int, padding: str) -> bool:
    """True when a training configuration asks for the starting model's architecture (width None:
    any). Also True when the file is missing or damaged: train() then says so and trains from scratch."""
    try:
        arch = starting_arch()
    except (FileNotFoundError, ModelError):
        return True
    return (width is None or width == arch["width"]) and depth == arch["depth"] and padding == arch["padding"]


def is_fine_tuned_from_starting_model(model: Model) -> bool:
    """True for a model fine-tuned from the starting model: its summary says so and it kept the
    architecture (training it again goes on with the fine-tuning recipe)."""
    if "starting_model" not in model.summary:
        return False
    try:
        arch = starting_arch()
    except (FileNotFoundError, ModelError):
        return False
    return all(model.arch.get(k) == arch[k] for k in ("depth", "width", "norm", "padding"))


def load_starting_model(n_classes: int, in_channels: int = 1, device: Any = "cpu",
                        classes: list[Any] | None = None) -> Model:
    """The starting model, ready to fine-tune on images with `in_channels` channels into
    `n_classes` classes.

    First convolution: the grey filters are spread evenly over the channels (each gets 1/C
    of them), so an image whose channels are all the same grey starts exactly like the grey
    model, and a colour image starts from its mean intensity. Output layer: kept if the
    model already has `n_classes` outputs; otherwise a new one with zero weights, so every
    class starts at equal probability and no class is favoured before the user's labels
    speak (which class the user calls 1 or 2 is theirs to choose).
    Raises FileNotFoundError if the installation has no starting model, ModelError if the
    file is damaged.
    """
    if n_classes < 1 or in_channels < 1:
        raise ValueError("n_classes and in_channels must be positive")
    model = load_model(starting_model_path(), device="cpu")
    net = model.net
    if in_channels != net.arch["in_channels"]:
        first = net.inc[0]
        grey = first.weight.data.mean(dim=1, keepdim=True)
        conv = torch.nn.Conv2d(in_channels, first.out_channels, first.kernel_size, first.stride,
                               first.padding, bias=first.bias is not None)
        conv.weight.data.copy_(grey.expand(-1, in_channels, -1, -1) / in_channels)
        if first.bias is not None:
            conv.bias.data.copy_(first.bias.data)
        net.inc[0] = conv
        net.arch["in_channels"] = int(in_channels)
    # The file stores float16 weights to stay small; training and prediction run in float32.
    net.float()
    model.summary = {"starting_model": dict(model.summary)}
    net.to(device)
    return for_classes(model, n_classes, classes)


def for_classes(model: Model, n_classes: int, classes: list[Any] | None = None,
                new_layer: bool = False) -> Model:
    """`model` (changed in place and returned) with an output layer for `n_classes` classes: the
    one it has if the count matches and not `new_layer`, else a new one with zero weights (see
    load_starting_model). Training asks for a new one: the user's classes are never the
    starting model's own, whatever their number or order."""
    net = model.net
    if new_layer or n_classes != net.arch["n_classes"]:
        head = OutConv(net.outc.in_channels, n_classes).to(net.outc.weight.device)
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
        net.outc = head
        net.arch["n_classes"] = int(n_classes)
        model.classes = class_dicts(classes if classes is not None else
                                    [f"class {k}" for k in range(1, n_classes + 1)])
    elif classes is not None:
        model.classes = class_dicts(classes)
    return model
