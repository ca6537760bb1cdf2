"""The model file: a round trip keeps everything; anything else is refused with ModelError."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from unet_studio.core.errors import ModelError
from unet_studio.ml.model_file import describe_model, load_model, save_model
from unet_studio.ml.predict import predict_plane

from .synthetic import blobs


def test_round_trip_keeps_weights_classes_and_predictions(trained_model, tmp_path):
    path = tmp_path / "blobs.pt"
    save_model(path, trained_model)
    loaded = load_model(path)
    assert loaded.classes == trained_model.classes
    assert loaded.arch == trained_model.arch
    assert loaded.normalisation == trained_model.normalisation
    assert loaded.summary["steps"] == 150
    image, _ = blobs(64, 4, seed=9)
    a = predict_plane(trained_model, image)
    b = predict_plane(loaded, image)
    assert np.array_equal(a.mask, b.mask)
    assert np.allclose(a.probabilities, b.probabilities, atol=1e-6)
    # Nothing but the file is left in the folder (the temporary file was renamed into place).
    assert os.listdir(tmp_path) == ["blobs.pt"]


def test_info_text_names_classes_and_architecture(trained_model, tmp_path):
    path = tmp_path / "m.pt"
    save_model(path, trained_model)
    text = describe_model(path)
    assert "background" in text and "blob" in text
    assert "depth 3" in text and "width 8" in text and "input channels: 1" in text


class _Payload:
    """Unpickling this would run `touch` on the user's machine."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_file_carrying_pickled_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "unet_studio.model", "state_dict": {}, "x": _Payload(marker)}, path)
    with pytest.raises(ModelError, match="evil.pt"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"PK\x03\x04" + b"\0" * 100])
def test_garbage_files_are_refused_in_one_line(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_truncated_and_foreign_files_are_refused(trained_model, tmp_path):
    good = tmp_path / "good.pt"
    save_model(good, trained_model)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelError):
        load_model(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ModelError, match="not a unet_studio model"):
        load_model(foreign)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.pt")


def test_incompatible_weights_are_refused(trained_model, tmp_path):
    path = tmp_path / "m.pt"
    save_model(path, trained_model)
    payload = torch.load(path, weights_only=True)
    payload["arch"]["width"] = 16   # weights no longer fit the architecture
    torch.save(payload, path)
    with pytest.raises(ModelError, match="usable U-Net"):
        load_model(path)


def test_failed_save_leaves_the_previous_file_intact(trained_model, tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    save_model(path, trained_model)
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        with open(f, "wb") as fh:
            fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(ModelError, match="disk full"):
        save_model(path, trained_model)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.pt"]
