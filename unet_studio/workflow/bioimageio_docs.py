"""What a person reads in a bioimage.io package: the README and the cover image.

The training data's provenance is left for the user to fill in: unet_studio knows the images
it trained on only as files on this machine, not where they came from or who may share them.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from unet_studio import __version__
from unet_studio.ml.unet import summary_text

TRAINING_DATA_TODO = ("TODO: describe the training images here before sharing this package: what "
                      "they show, the microscope and modality, pixel size, where they can be "
                      "found, and their license.")


def write_readme(path: Path, model, *, name: str, description: str, sizes: tuple[int, int]) -> None:
    """README.md of the package: what the model does, its classes, input, output, training."""
    norm = model.normalisation or {}
    low, high = norm.get("low_pct"), norm.get("high_pct")
    a = model.arch
    lines = [f"# {name}", "", description, "",
             "## Classes", "", "| mask value | class | colour (RGB) |", "| --- | --- | --- |"]
    lines += [f"| {k} | {c['name']} | {tuple(c['color'])} |" for k, c in enumerate(model.classes, start=1)]
    lines += ["", "## Input and output", "",
              f"- Input `raw`: one 2-D image, axes (batch, channel, y, x), {model.in_channels} channel(s), "
              f"y and x of {sizes[0]} + n * {sizes[1]} pixels.",
              f"- Preprocessing: per image and channel, the {low} percentile is scaled to 0 and the "
              f"{high} percentile to 1 (`scale_range`, not clipped).",
              "- Output `probabilities`: one channel per class, summing to 1. The mask is the most "
              "probable class: mask value = channel index + 1 (the table above).",
              "- Edges: the model mirrors the edges of what it is given, as unet_studio does at an "
              "image's edges. Predict whole planes where memory allows (bioimageio.core's `predict` "
              "does); tiles that do not overlap may show seams where they meet.",
              "", "## Training data", "", TRAINING_DATA_TODO, "",
              "## Training", ""]
    summary = model.summary or {}
    plain = [(k, v) for k, v in summary.items() if not isinstance(v, (list, dict))]
    lines += [f"- {k}: {v}" for k, v in plain] or ["- (no training summary recorded)"]
    lines += ["", "## Network", "", "```", summary_text(model.net), "```", "",
              "## How it was made", "",
              f"Trained and exported with unet_studio {__version__} on "
              f"{datetime.date.today().isoformat()}: a U-Net (Ronneberger et al. 2015, depth "
              f"{a['depth']}, width {a['width']}, {a['norm']} norm, {a['padding']} padding) fine-tuned from "
              "painted strokes. The weights come twice: `pytorch_state_dict` (the network's source is "
              "`unet_studio_net.py`, it needs only torch) and `torchscript`. The test tensors are a "
              "crop of the user's own image and unet_studio's prediction of it.", "",
              "## Run it", "", "```python",
              "from bioimageio.core import load_model_description, predict",
              f'model = load_model_description("{name_to_file(name)}.zip")',
              "sample = predict(model=model, inputs={\"raw\": image[None, None]})  # (1, 1, Y, X)",
              'probabilities = sample.members["probabilities"].data',
              "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def name_to_file(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name).strip("_") or "model"


def write_cover(path: Path, image: np.ndarray, probabilities: np.ndarray, classes: list[dict]) -> None:
    """cover.png, 2:1: the image on the left, the image with the predicted mask on the right.

    image (C, Y, X) normalised (first channel shown); probabilities (K, Y, X).
    """
    import imageio.v3 as iio

    gray = np.clip(image[0], 0.0, 1.0)
    rgb = np.repeat((gray * 255)[..., None], 3, axis=2)
    colors = np.asarray([c["color"] for c in classes], np.float32)
    overlay = colors[np.argmax(probabilities, axis=0)]
    blended = 0.55 * rgb + 0.45 * overlay
    cover = np.concatenate([rgb, blended], axis=1)
    # Nearest-neighbour enlargement, so a small test crop still shows at a readable size.
    factor = max(1, 256 // cover.shape[0])
    cover = np.repeat(np.repeat(cover, factor, axis=0), factor, axis=1)
    iio.imwrite(path, np.clip(cover, 0, 255).astype(np.uint8))
