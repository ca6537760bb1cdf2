"""kill -9 in the middle of `unet-studio train` or `predict` never leaves a broken file.

Each test starts the real command in a fresh process and sends SIGKILL while it is writing:
the moment a temporary file of an atomic save appears. The command runs as on a slow disk
(every fsync waits a quarter of a second), so that moment lasts long enough to be seen and the
kill lands inside the save. Then what is on disk is checked: the model file is the previous one
or a newer checkpoint, always loadable; each mask file is absent or complete.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fnmatch import fnmatch

import numpy as np
import pytest
import tifffile

SIZE = 128
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def blobs(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    truth = np.zeros((size, size), bool)
    for cy, cx in rng.integers(10, size - 10, (size // 16, 2)):
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 49
    return (200 + 600 * truth + rng.normal(0, 60, truth.shape)).astype(np.uint16), truth


SLOW_DISK = ("import os, runpy, sys, time\n"
             "real_fsync = os.fsync\n"
             "def slow_fsync(fd):\n"
             "    time.sleep(0.25)\n"
             "    real_fsync(fd)\n"
             "os.fsync = slow_fsync\n"
             "sys.argv[0] = 'unet-studio'\n"
             "runpy.run_module('unet_studio', run_name='__main__')\n")


def command(*args) -> list[str]:
    """`unet-studio ARGS` in a fresh Python, as on a slow disk (see SLOW_DISK)."""
    return [sys.executable, "-c", SLOW_DISK, *map(str, args)]


def kill_while_writing(process: subprocess.Popen, folder, pattern: str, ready, timeout: float = 120.0) -> None:
    """Once `ready()` holds, kill -9 `process` as soon as a temporary file of an atomic save
    matching `pattern` shows in `folder` (or after 10 s, and the test fails: the kill would
    not have come in the middle of a save)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"the command ended before the kill: {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the command did not reach the moment to kill it")
        time.sleep(0.005)
    give_up = time.monotonic() + 10.0
    while not any(name.endswith(".tmp") and fnmatch(name, pattern) for name in os.listdir(folder)):
        if process.poll() is not None or time.monotonic() > give_up:
            process.kill()
            pytest.fail("no save was seen in progress to kill the command in")
        time.sleep(0.005)
    kill(process)


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    assert process.returncode == -signal.SIGKILL, "the command had ended before the kill"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Images, labels and a small starting model (trained here: faster than a CLI run)."""
    from unet_studio.ml.model_file import save_model
    from unet_studio.ml.train import TrainConfig, train

    folder = tmp_path_factory.mktemp("kill")
    for i in range(8):
        image, truth = blobs(SIZE, seed=i)
        tifffile.imwrite(folder / f"cells{i}.tif", image)
    labels = np.zeros(truth.shape, np.uint8)
    labels[::4, ::4] = np.where(truth[::4, ::4], 2, 1)
    tifffile.imwrite(folder / "labels.tif", labels)
    config = TrainConfig(steps=1, width=8, depth=2, patch=32, batch=1, device="cpu", seed=0)
    for progress in train([image], [labels], ["background", "cells"], config):
        pass
    save_model(folder / "start.pt", progress.model)
    return folder


def test_kill_during_train_leaves_a_loadable_model(files, tmp_path):
    from unet_studio.ml.model_file import load_model

    model = tmp_path / "m.pt"
    model.write_bytes((files / "start.pt").read_bytes())
    first = model.stat().st_ino
    process = subprocess.Popen(
        command("train", files / "cells7.tif", "--labels", files / "labels.tif", "--init", model,
                "--out", model, "--time", "300", "--checkpoint-every", "0"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # Killed once a periodic checkpoint has replaced the starting model, while the next
        # one is being written.
        kill_while_writing(process, tmp_path, ".m.pt.*", lambda: model.stat().st_ino != first)
    finally:
        if process.poll() is None:
            process.kill()
    loaded = load_model(model)
    assert loaded.n_classes == 2 and loaded.in_channels == 1 and loaded.arch["width"] == 8


def test_kill_during_predict_leaves_no_partial_mask(files, tmp_path):
    out = tmp_path / "masks"
    images = [files / f"cells{i}.tif" for i in range(8)]
    process = subprocess.Popen(command("predict", files / "start.pt", *images, "--out", out,
                                       "--probabilities", "--instances"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        kill_while_writing(process, out, ".*.tif.*", lambda: out.is_dir() and any(out.glob("*_mask.tif")))
    finally:
        if process.poll() is None:
            process.kill()
    written = sorted(out.glob("*.tif"))
    assert 1 <= len(written) < 3 * len(images)   # it was stopped on the way
    for path in written:  # masks, probabilities and instances: whole or absent
        data = tifffile.imread(path)
        assert data.shape[-2:] == (SIZE, SIZE)
        if path.name.endswith("_mask.tif"):
            assert data.shape == (SIZE, SIZE) and set(np.unique(data)) <= {0, 1}
        if path.name.endswith("_probabilities.tif"):
            np.testing.assert_allclose(data.sum(axis=0), 1.0, atol=1e-3)
