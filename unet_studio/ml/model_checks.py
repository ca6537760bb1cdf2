"""Checks a model file passes before anything in it is used (ml/model_file.py loads it).

A model file may come from anyone, so each step trusts only what the previous one proved:
  1. the container: a text file or an empty zip is named for what it is; a zip whose parts
     fail their checksums (flipped bytes in the weights) is damaged, as is one whose parts
     claim far more bytes than the file holds;
  2. the metadata: every field has the type and range the loader expects;
  3. the weights: the network the metadata describes is laid out on the "meta" device (no
     memory) and its tensor shapes compared with the file's before the real one is built,
     so a forged width or depth cannot allocate gigabytes; NaN or infinite weights are refused.
Every failure is a ModelError with one line naming the file.
"""
from __future__ import annotations

import math
import zipfile
from pathlib import Path

import torch

from unet_studio.core.errors import ModelError
from unet_studio.core.stack import is_image_head
from unet_studio.ml.unet import NORMS, PADDINGS, STARTING_BOUNDARY, UNet

# Generous bounds: they only keep a forged file from describing a network that cannot exist.
_ARCH_LIMITS = {"in_channels": 4096, "n_classes": 255, "depth": 12, "width": 65536}
_TEXT_PROBE = 4096


def check_container(path: Path) -> None:
    """ModelError if `path` is plainly not a model file or its zip parts are damaged."""
    name = path.name
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(_TEXT_PROBE)
    if not head:
        raise ModelError(f"{name} is not a model file: the file is empty")
    if is_image_head(head[:8]):
        raise ModelError(f"{name} is an image, not a model file")
    if zipfile.is_zipfile(path):
        _check_zip(path, name, size)
    elif head.startswith(b"PK\x03\x04"):   # begins as the zip archive a model is, has no end
        raise ModelError(f"{name} is not a readable unet_studio model file (the file is cut short or damaged)")
    elif _is_text(head):
        raise ModelError(f"{name} is not a model file: a text file")


def _check_zip(path: Path, name: str, size: int) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            parts = zf.infolist()
            if not parts:
                raise ModelError(f"{name} is not a model file: an empty zip archive")
            claimed = sum(p.file_size for p in parts)
            if claimed > 4 * size + 2**20:
                raise ModelError(f"{name} is damaged (its parts claim {claimed:,} bytes, "
                                 f"the file has {size:,})")
            if not any(p.filename.rsplit("/", 1)[-1] == "data.pkl" for p in parts):
                raise ModelError(f"{name} is not a model file: a zip archive of other files")
            bad = zf.testzip()
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - zipfile raises many kinds for a broken archive
        raise ModelError(f"{name} is damaged ({_first_line(e)})") from None
    if bad is not None:
        raise ModelError(f"{name} is damaged (its part {bad.rsplit('/', 1)[-1]} fails its checksum)")


def _is_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    for cut in range(4):  # the probe may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def check_metadata(payload: dict, name: str, newest: int) -> dict:
    """The architecture of a payload whose fields all have the expected types; ModelError."""
    version = payload.get("format_version", 0)
    if not _is_int(version) or version < 0:
        raise ModelError(f"{name} is damaged (its format version {version!r:.40} is not a whole number)")
    if version > newest:
        raise ModelError(f"{name} was written by a newer unet_studio (format {version}); "
                         "please update unet_studio")
    for key in ("summary", "normalisation"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise ModelError(f"{name} is damaged (its {key} is a {type(payload[key]).__name__}, "
                             "not a table of values)")
    _check_percentiles(payload.get("normalisation") or {}, name)
    if not isinstance(payload.get("classes"), (list, tuple)):
        raise ModelError(f"{name} is damaged (its class list is missing)")
    if not isinstance(payload.get("state_dict"), dict) or not all(
            isinstance(v, torch.Tensor) for v in payload["state_dict"].values()):
        raise ModelError(f"{name} is damaged (its weights are missing)")
    return _check_arch(payload.get("arch"), name)


def _check_percentiles(norm: dict, name: str) -> None:
    low, high = norm.get("low_pct", 0.0), norm.get("high_pct", 100.0)
    if not (_is_number(low) and _is_number(high) and 0 <= low < high <= 100):
        raise ModelError(f"{name} is damaged (its normalisation percentiles {low!r:.20} - "
                         f"{high!r:.20} are not two numbers from 0 to 100)")


def _check_arch(arch, name: str) -> dict:
    if not isinstance(arch, dict):
        raise ModelError(f"{name} is damaged (its architecture is missing)")
    for key, top in _ARCH_LIMITS.items():
        value = arch.get(key)
        if not _is_int(value) or not 1 <= value <= top:
            raise ModelError(f"{name} is damaged (its architecture gives {key} = {value!r:.40})")
    if arch.get("norm") not in NORMS or arch.get("padding") not in PADDINGS:
        raise ModelError(f"{name} is damaged (its architecture names an unknown norm or padding)")
    checked = {key: arch[key] for key in (*_ARCH_LIMITS, "norm", "padding")}
    if "starting_head" in arch:   # the starting model's output layer, kept (ml/unet.py)
        head = arch["starting_head"]
        if not _is_int(head) or not STARTING_BOUNDARY < head <= _ARCH_LIMITS["n_classes"]:
            raise ModelError(f"{name} is damaged (its architecture gives starting_head = {head!r:.40})")
        checked["starting_head"] = head
    return checked


def _network(arch: dict) -> UNet:
    return UNet(arch["in_channels"], arch["n_classes"], depth=arch["depth"], width=arch["width"],
                norm=arch["norm"], padding=arch["padding"], starting_head=arch.get("starting_head", 0))


def build_network(arch: dict, state: dict, name: str) -> UNet:
    """The U-Net of `arch` holding the weights `state`, once their shapes and values are
    checked (see module docstring). ModelError otherwise."""
    expected = _shapes_of(arch, name)
    found = {key: tuple(t.shape) for key, t in state.items()}
    if expected != found:
        raise ModelError(
            f"{name} does not hold a usable U-Net (the architecture in the file, depth {arch['depth']}, "
            f"width {arch['width']}, {arch['in_channels']} channel(s), {arch['n_classes']} classes, "
            "does not match its weights)")
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelError(f"{name} is damaged: its weights are not finite numbers (NaN or "
                             f"infinity in {key})")
    net = _network(arch)
    net.load_state_dict(state, strict=True)
    return net


def _shapes_of(arch: dict, name: str) -> dict:
    try:
        with torch.device("meta"):
            layout = _network(arch)
        return {key: tuple(t.shape) for key, t in layout.state_dict().items()}
    except Exception as e:  # noqa: BLE001 - e.g. sizes beyond what torch can describe
        raise ModelError(f"{name} does not hold a usable U-Net (its architecture cannot be "
                         f"built: {_first_line(e)})") from None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__
