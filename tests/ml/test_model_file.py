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


# ---- hostile or damaged model files -------------------------------------------------------

def tiny_model_file(path, **change):
    """A small valid model file (no training needed), with payload fields replaced by `change`."""
    from unet_studio.ml.model_file import Model
    from unet_studio.ml.unet import UNet

    torch.manual_seed(0)
    save_model(path, Model(UNet(1, 2, depth=2, width=4), [{"name": "bg"}, {"name": "fg"}]))
    if change:
        payload = torch.load(path, weights_only=True)
        for key, value in change.items():
            if key == "arch":
                payload["arch"].update(value)
            else:
                payload[key] = value
        torch.save(payload, path)
    return path


def test_a_kept_starting_head_travels_with_the_file_and_gives_the_boundary(tmp_path):
    from unet_studio.ml.model_file import Model
    from unet_studio.ml.unet import UNet

    torch.manual_seed(0)
    model = Model(UNet(1, 2, depth=2, width=4, starting_head=3), [{"name": "bg"}, {"name": "fg"}])
    save_model(tmp_path / "kept.pt", model)
    loaded = load_model(tmp_path / "kept.pt")
    assert loaded.arch["starting_head"] == 3
    torch.testing.assert_close(loaded.net.starting_head.weight, model.net.starting_head.weight)
    image, _ = blobs(64, 4, seed=9)
    prediction = predict_plane(loaded, image)
    assert prediction.probabilities.shape == (2, 64, 64) and prediction.boundary.shape == (64, 64)
    np.testing.assert_allclose(prediction.boundary, predict_plane(model, image).boundary, atol=1e-6)
    assert predict_plane(Model(UNet(1, 2, depth=2, width=4), model.classes), image).boundary is None
    assert "object boundaries: the starting model's" in describe_model(tmp_path / "kept.pt")


def test_a_file_is_written_in_the_oldest_format_that_holds_it(tmp_path):
    """Older versions read format 1 and ask to update for anything newer: a model that keeps
    the starting model's output layer, which they cannot build, says so; others stay readable."""
    from unet_studio.ml.model_file import Model
    from unet_studio.ml.unet import UNet

    classes = [{"name": "bg"}, {"name": "fg"}]
    save_model(tmp_path / "kept.pt", Model(UNet(1, 2, depth=2, width=4, starting_head=3), classes))
    save_model(tmp_path / "plain.pt", Model(UNet(1, 2, depth=2, width=4), classes))
    assert torch.load(tmp_path / "kept.pt", weights_only=True)["format_version"] == 2
    assert torch.load(tmp_path / "plain.pt", weights_only=True)["format_version"] == 1
    with pytest.raises(ModelError, match="newer unet_studio"):
        load_model(tiny_model_file(tmp_path / "future.pt", format_version=3))


@pytest.mark.parametrize("head", [2, "3", 300])
def test_a_forged_starting_head_is_refused(tmp_path, head):
    path = tiny_model_file(tmp_path / "forged.pt", arch={"starting_head": head})
    with pytest.raises(ModelError, match="starting_head"):
        load_model(path)


@pytest.mark.parametrize("change, words", [
    ({"format_version": "1"}, "format version"),
    ({"summary": [1, 2]}, "summary"),
    ({"normalisation": "percentile"}, "normalisation"),
    ({"normalisation": {"low_pct": "x", "high_pct": 99}}, "normalisation"),
    ({"arch": {"depth": "deep"}}, "architecture"),
    ({"classes": "bg,fg"}, "class"),
])
def test_metadata_of_the_wrong_type_is_a_model_error(tmp_path, change, words):
    path = tiny_model_file(tmp_path / "odd.pt", **change)
    with pytest.raises(ModelError, match=words) as info:
        load_model(path)
    assert "odd.pt" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path, value):
    path = tiny_model_file(tmp_path / "nan.pt")
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["inc.0.weight"][0, 0, 1, 1] = value
    torch.save(payload, path)
    with pytest.raises(ModelError, match="not finite"):
        load_model(path)


def test_corrupted_weight_bytes_are_caught(tmp_path):
    import zipfile

    path = tiny_model_file(tmp_path / "m.pt")
    with zipfile.ZipFile(path) as zf:
        record = max(zf.infolist(), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    head = record.header_offset
    name_len, extra_len = (int.from_bytes(data[head + i: head + i + 2], "little") for i in (26, 28))
    start = head + 30 + name_len + extra_len + 8  # inside the largest weight tensor
    for k in range(64):
        data[start + k] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="damaged"):
        load_model(path)


def test_text_files_and_empty_zips_are_named_for_what_they_are(tmp_path):
    import zipfile

    text = tmp_path / "notes.pt"
    text.write_text("these are my notes about the model\nline two\n")
    with pytest.raises(ModelError, match="not a model file: a text file"):
        load_model(text)
    empty = tmp_path / "empty.pt"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(ModelError, match="an empty zip archive"):
        load_model(empty)
    for path in (text, empty):
        with pytest.raises(ModelError) as info:
            load_model(path)
        assert "Python objects" not in str(info.value)


@pytest.mark.parametrize("arch", [{"width": 4096}, {"depth": 40}, {"width": 4096, "depth": 40}])
def test_an_architecture_bigger_than_its_weights_is_refused_before_building(tmp_path, arch, monkeypatch):
    from unet_studio.ml import model_checks
    from unet_studio.ml.unet import UNet

    path = tiny_model_file(tmp_path / "big.pt", arch=arch)
    devices = []

    def recording_unet(*args, **kwargs):
        devices.append(torch.empty(0).device.type)  # where a new network's tensors would go
        return UNet(*args, **kwargs)

    monkeypatch.setattr(model_checks, "UNet", recording_unet)
    with pytest.raises(ModelError, match="architecture"):
        load_model(path)
    assert set(devices) <= {"meta"}  # laid out without memory, never built for real


def test_forged_architecture_under_a_memory_cap_ends_in_one_line(tmp_path):
    """`unet-studio info` on a file claiming width 4096: exit 2 at once, small memory."""
    import subprocess
    import sys

    path = tiny_model_file(tmp_path / "big.pt", arch={"width": 4096, "depth": 6})
    code = (
        "import resource, sys, torch\n"
        "from unet_studio.cli import main\n"
        "used = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (used + 1_500_000_000, resource.RLIM_INFINITY))\n"
        f"sys.exit(main(['info', {str(path)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "architecture" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_metadata_errors_end_in_one_line_in_predict_train_and_info(tmp_path, capsys):
    import tifffile

    from unet_studio.cli import main
    from unet_studio.core.label_file import write_labels
    from unet_studio.core.labels import DEFAULT_CLASSES

    model = tiny_model_file(tmp_path / "odd.pt", format_version="2", summary=["x"])
    image = tmp_path / "a.tif"
    tifffile.imwrite(image, np.zeros((16, 16), np.uint8))
    labels = tmp_path / "a_labels.tif"
    write_labels(labels, np.ones((16, 16), np.uint8), "YX", list(DEFAULT_CLASSES))
    for argv in (["info", str(model)],
                 ["predict", str(model), str(image), "--out", str(tmp_path / "out")],
                 ["train", str(image), "--labels", str(labels), "--init", str(model),
                  "--out", str(tmp_path / "new.pt"), "--steps", "1"]):
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "odd.pt" in err[0] and "format version" in err[0], (argv, err)
