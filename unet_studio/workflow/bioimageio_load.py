"""Reading a bioimage.io package back into unet_studio, as a starting model for training or
for prediction: only packages that unet_studio exported (workflow/bioimageio.py), which carry
our metadata in `config.unet_studio`. Only the state dict is read, with
torch.load(weights_only=True); no code from the package runs.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from unet_studio.core.errors import ModelError
from unet_studio.ml.model_file import Model, class_dicts, load_model
from unet_studio.ml.unet import UNet
from unet_studio.workflow.bioimageio_net import ProbabilityNet

CONFIG_KEY = "unet_studio"
INSTALL_HINT = ("bioimage.io packages need the optional bioimageio packages: "
                "pip install 'unet_studio[bioimageio]'")


class PackageError(ModelError):
    """A bioimage.io package that cannot be written or read (one line, names the reason)."""


def spec_v0_5():
    """bioimageio.spec's model spec 0.5 module; PackageError if the extra is not installed."""
    try:
        from bioimageio.spec.model import v0_5
    except ImportError:
        raise PackageError(INSTALL_HINT) from None
    return v0_5


def is_bioimageio_package(path: str | Path) -> bool:
    """A zip file, or a folder holding rdf.yaml (what bioimage.io packages are on disk)."""
    path = Path(path)
    return path.suffix.lower() == ".zip" or (path.is_dir() and (path / "rdf.yaml").is_file())


def load_model_or_package(path: str | Path, device: Any = "cpu") -> Model:
    """A unet_studio model file (.pt) or a bioimage.io package of ours, as a Model."""
    if is_bioimageio_package(path):
        return load_bioimageio_package(path, device)
    return load_model(path, device)


def load_bioimageio_package(path: str | Path, device: Any = "cpu") -> Model:
    """A unet_studio Model from a bioimage.io package (zip, or folder with rdf.yaml) that one of
    us exported; PackageError for a package of another network or one that cannot be read.

    Only the state dict is read (torch.load(weights_only=True)); the package's code never runs.
    """
    spec_v0_5()
    from bioimageio.spec import InvalidDescr, load_description
    from bioimageio.spec.utils import get_reader

    path = Path(path)
    if not path.exists():
        raise PackageError(f"bioimage.io package not found: {path}")
    try:
        descr = load_description(path, perform_io_checks=False)
    except Exception as e:  # zip, YAML and validation errors come in many kinds
        raise PackageError(f"{path.name} is not a readable bioimage.io package ({_first_line(e)})") from None
    if isinstance(descr, InvalidDescr) or getattr(descr, "type", None) != "model":
        raise PackageError(f"{path.name} is not a valid bioimage.io model package")
    config = descr.config if isinstance(descr.config, dict) else (getattr(descr.config, "model_extra", None) or {})
    ours = config.get(CONFIG_KEY)
    weights = getattr(descr.weights, "pytorch_state_dict", None)
    architecture = getattr(weights, "architecture", None)
    if not isinstance(ours, dict) or getattr(architecture, "callable", None) != ProbabilityNet.__name__:
        raise PackageError(f"{path.name} holds a bioimage.io model of another architecture "
                           f"({descr.name}); unet_studio can start only from its own U-Net packages")
    if str(weights.source).startswith(("http://", "https://")):
        raise PackageError(f"{path.name} does not contain its weights (they are at {weights.source})")
    try:
        data = get_reader(weights).read()
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        return _model_from(ours, dict(architecture.kwargs), state, device)
    except Exception as e:
        raise PackageError(f"{path.name} does not hold a usable unet_studio U-Net ({_first_line(e)})") from None


def _model_from(ours: dict, kwargs: dict, state: dict, device: Any) -> Model:
    arch = ours["arch"]
    if {k: kwargs.get(k) for k in arch} != dict(arch):
        raise ValueError("the architecture's arguments differ from the unet_studio metadata")
    net = UNet(int(arch["in_channels"]), int(arch["n_classes"]), depth=int(arch["depth"]),
               width=int(arch["width"]), norm=str(arch["norm"]), padding=str(arch["padding"]))
    prefix = "unet."
    net.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}, strict=True)
    shift = torch.tensor([float(v) for v in kwargs.get("class_shift") or [0.0] * net.n_classes])
    if shift.shape != net.outc.class_shift.shape or not bool(torch.isfinite(shift).all()):
        raise ValueError("the class shift does not fit the network")
    net.outc.class_shift.copy_(shift)
    classes = class_dicts(ours["classes"])
    if len(classes) != net.n_classes:
        raise ValueError(f"{len(classes)} class names for {net.n_classes} outputs")
    return Model(net.to(device).eval(), classes, dict(ours.get("normalisation") or {}),
                 dict(ours.get("summary") or {}), str(ours.get("version", "?")))


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]
