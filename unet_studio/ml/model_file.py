"""A trained model as one file: the U-Net weights plus everything needed to use them.

The file is a torch.save() of a dict holding only tensors and plain Python types, so it is
read back with torch.load(weights_only=True): a model file from someone else cannot run
code on the user's machine. Anything else (a pickled object, a truncated file, a file from
an unrelated program) is refused with a one-line ModelError.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from unet_studio import __version__
from unet_studio.core.atomic import atomic_path
from unet_studio.core.errors import ModelError
from unet_studio.ml.model_checks import build_network, check_container, check_metadata
from unet_studio.ml.normalise import HIGH_PCT, LOW_PCT
from unet_studio.ml.unet import UNet

FORMAT = "unet_studio.model"
FORMAT_VERSION = 2   # the newest format this version reads; a file is written in the oldest that
                     # holds it, so older versions keep reading what they can use:
                     # 1: the network and its metadata;
                     # 2: with the starting model's output layer kept (arch "starting_head"),
                     #    which a version that reads only 1 cannot build: it asks to update


def format_version(arch: dict) -> int:
    """The format a model file of architecture `arch` is written in (see FORMAT_VERSION)."""
    return 2 if "starting_head" in arch else 1


@dataclass
class Model:
    """A U-Net and its metadata. classes[k-1] describes mask value k."""
    net: UNet
    classes: list[dict]
    normalisation: dict = field(default_factory=lambda: {"method": "percentile", "low_pct": LOW_PCT,
                                                          "high_pct": HIGH_PCT})
    summary: dict = field(default_factory=dict)
    version: str = __version__

    @property
    def in_channels(self) -> int:
        return self.net.arch["in_channels"]

    @property
    def arch(self) -> dict:
        return dict(self.net.arch)

    @property
    def n_classes(self) -> int:
        return self.net.arch["n_classes"]

    @property
    def n_outputs(self) -> int:
        """Probability maps a prediction holds: the classes' and the kept boundary (UNet.n_outputs)."""
        return self.net.n_outputs

    @property
    def class_names(self) -> list[str]:
        return [c["name"] for c in self.classes]

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def copy(self, device: Any = "cpu") -> "Model":
        """An independent snapshot in eval mode (safe to use while the original trains on)."""
        net = copy.deepcopy(self.net).to(device).eval()
        return Model(net, copy.deepcopy(self.classes), copy.deepcopy(self.normalisation),
                     copy.deepcopy(self.summary), self.version)


def class_dicts(classes: Any) -> list[dict]:
    """Classes given as LabelClass objects, dicts or plain names -> [{"name", "color"}]."""
    out = []
    for i, c in enumerate(classes):
        if isinstance(c, str):
            name, color = c, None
        elif isinstance(c, dict):
            name, color = c.get("name", f"class {i + 1}"), c.get("color")
        else:
            name, color = getattr(c, "name", f"class {i + 1}"), getattr(c, "color", None)
        if color is None:
            color = _DEFAULT_COLORS[i % len(_DEFAULT_COLORS)]
        out.append({"name": str(name), "color": [int(v) for v in color][:3]})
    return out


_DEFAULT_COLORS = [(128, 128, 128), (230, 60, 60), (60, 180, 75), (0, 130, 200), (245, 130, 48),
                   (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60)]


def save_model(path: str | Path, model: Model) -> None:
    """Write `model` to `path` atomically (the old file stays until the new one is complete).
    ModelError, writing nothing, where its weights are not all numbers (training that diverged):
    no file could be loaded again, and a good one at `path` would be lost."""
    state = {k: v.detach().to("cpu").clone() for k, v in model.net.state_dict().items()}
    broken = next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if broken is not None:
        raise ModelError(f"the model was not written to {path}: training went wrong, its weights are "
                         f"not numbers (NaN or infinity in {broken})")
    payload = {
        "format": FORMAT,
        "format_version": format_version(model.net.arch),
        "arch": _plain(model.net.arch),
        "classes": _plain(model.classes),
        "normalisation": _plain(model.normalisation),
        "summary": _plain(model.summary),
        "version": str(model.version),
        "state_dict": state,
        # Measured, not learned (ml/class_shares.py), so outside the state dict: older files
        # load with no shift, and older versions read these files and ignore it.
        "class_shift": [float(v) for v in model.net.outc.class_shift],
    }
    try:
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
    except OSError as e:
        raise ModelError(f"cannot write model file {path}: {e.strerror or e}") from None


def _plain(value: Any) -> Any:
    """Metadata reduced to types torch.load(weights_only=True) accepts (no numpy, no objects)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        f = float(value)
        return f if math.isfinite(f) else None
    return str(value)


def load_model(path: str | Path, device: Any = "cpu") -> Model:
    """Read a model file written by save_model; ModelError with a one-line reason otherwise
    (the checks a file passes first are in ml/model_checks.py)."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    check_container(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for bad files; the user needs one line
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e) or "GLOBAL" in str(e):
            reason = "it contains Python objects, which are not loaded for safety"
        elif "central directory" in str(e) or "PytorchStreamReader" in str(e):
            reason = "the file is cut short or damaged"
        raise ModelError(f"{name} is not a readable unet_studio model file ({reason[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{name} is not a unet_studio model file")
    arch = check_metadata(payload, name, FORMAT_VERSION)
    net = build_network(arch, payload["state_dict"], name)
    try:
        shift = payload.get("class_shift")
        if shift is not None:
            shift = torch.tensor([float(v) for v in shift])
            if shift.shape != net.outc.class_shift.shape:
                raise ValueError(f"class shift for {len(shift)} classes, the network has {net.n_classes}")
            if not bool(torch.isfinite(shift).all()):
                raise ValueError("the class shift is not a number")
            net.outc.class_shift.copy_(shift)
        classes = class_dicts(payload["classes"])
        if len(classes) != net.n_classes:
            raise ValueError(f"{len(classes)} class names for {net.n_classes} outputs")
    except Exception as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{name} does not hold a usable U-Net ({msg[:200]})") from None
    net.to(device).eval()
    return Model(net, classes, dict(payload.get("normalisation") or {}),
                 dict(payload.get("summary") or {}), str(payload.get("version", "?")))


def describe_model(path: str | Path, model: Model | None = None) -> str:
    """Human-readable classes, architecture and training summary of a model file (`model`: the
    one it holds, where read already, e.g. from a bioimage.io package)."""
    model = load_model(path) if model is None else model
    a = model.arch
    n_params = sum(p.numel() for p in model.net.parameters())
    lines = [f"{Path(path).name}: unet_studio model (written by version {model.version})",
             f"  architecture: U-Net, depth {a['depth']}, width {a['width']}, norm {a['norm']}, "
             f"padding {a['padding']}, {n_params:,} parameters",
             f"  input channels: {model.in_channels}",
             f"  classes ({model.n_classes}):"]
    shares = model.summary.get("class_shares")
    if not (isinstance(shares, list) and len(shares) == model.n_classes
            and all(isinstance(v, (int, float)) for v in shares)):
        shares = None
    for k, c in enumerate(model.classes, start=1):
        share = f"  covers about {shares[k - 1]:.0%} of the images trained on" if shares else ""
        lines.append(f"    {k}: {c['name']}  rgb{tuple(c['color'])}{share}")
    if model.net.starting_head is not None:
        lines.append("  object boundaries: the starting model's, kept to part touching objects")
    norm = model.normalisation
    if norm:
        lines.append(f"  normalisation: percentiles {norm.get('low_pct')} - {norm.get('high_pct')} per image")
    s = model.summary
    parts = [f"{k}={v}" for k, v in (s or {}).items() if not isinstance(v, (list, dict))]
    if parts:
        lines.append("  training: " + ", ".join(parts))
    return "\n".join(lines)
