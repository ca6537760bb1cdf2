"""Batch prediction on a dask.distributed LocalCluster: the same files as one process, and a
worker killed mid-run loses nothing (its image is predicted again elsewhere)."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import tifffile

from unet_studio.workflow.batch import plan_outputs, predict_images
from unet_studio.workflow.export import MASK, PROBABILITIES
from unet_studio.workflow.output_set import recover

distributed = pytest.importorskip("distributed")   # the optional [cluster] extra; in the test extras


@pytest.fixture(scope="module")
def images_and_model(tmp_path_factory):
    import torch

    from unet_studio.ml.model_file import Model, class_dicts, save_model
    from unet_studio.ml.unet import UNet

    folder = tmp_path_factory.mktemp("cluster")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        path = folder / "data" / f"well{i}.tif"
        path.parent.mkdir(exist_ok=True)
        tifffile.imwrite(path, (rng.random((2, 96 + 16 * i, 128)) * 1000).astype(np.uint16),
                         imagej=True, metadata={"axes": "ZYX"})
        paths.append(path)
    torch.manual_seed(0)
    save_model(folder / "model.pt", Model(UNet(1, 2, depth=2, width=4).eval(), class_dicts(["background", "cells"])))
    return paths, folder / "model.pt"


def single_process(paths, model_path, out):
    from unet_studio.ml.model_file import load_model

    plan = plan_outputs(paths, out, [MASK, PROBABILITIES])
    return [step for step in predict_images(load_model(model_path), plan) if step.written]


def test_a_cluster_writes_the_same_files_and_survives_a_killed_worker(images_and_model, tmp_path):
    from unet_studio.workflow.cluster import predict_on_cluster

    paths, model_path = images_and_model
    single_process(paths, model_path, tmp_path / "one")
    plan = plan_outputs(paths, tmp_path / "two", [MASK, PROBABILITIES])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            pids = list(client.run(os.getpid).values())
        steps = predict_on_cluster(model_path, plan, scheduler=cluster.scheduler_address)
        finished = [next(steps)]
        os.kill(pids[0], signal.SIGKILL)          # one worker dies mid-run
        finished += list(steps)
    assert sorted(step.image for step in finished) == list(range(6))
    assert all(step.written and not step.skipped for step in finished)
    for path in paths:
        masks = [tifffile.imread(tmp_path / run / f"{path.stem}_mask.tif") for run in ("two", "one")]
        np.testing.assert_array_equal(*masks)
        # The same up to the last bit of float32: a worker's torch runs on another number of threads, so its
        # sums are added in another order.
        probabilities = [tifffile.imread(tmp_path / run / f"{path.stem}_probabilities.tif") for run in ("two", "one")]
        np.testing.assert_allclose(*probabilities, rtol=0, atol=1e-6)
    recover(tmp_path / "two")                     # what the next run into the folder does first
    assert sorted(os.listdir(tmp_path / "two")) == sorted(os.listdir(tmp_path / "one"))


def test_predict_workers_from_the_command_line(images_and_model, tmp_path):
    import subprocess
    import sys

    paths, model_path = images_and_model
    done = subprocess.run([sys.executable, "-m", "unet_studio", "predict", str(model_path),
                           str(paths[0].parent), "--out", str(tmp_path / "out"), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("6 images predicted;")
    assert len(list((tmp_path / "out").glob("*_mask.tif"))) == 6
