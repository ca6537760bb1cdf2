"""Batch prediction on a dask.distributed LocalCluster: the same files as one process, and a
worker killed mid-run loses nothing (its image is predicted again elsewhere)."""
from __future__ import annotations

import os
import signal
import time

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


def test_one_volume_is_shared_out_plane_by_plane_and_gives_the_single_process_files(images_and_model, tmp_path,
                                                                                    monkeypatch):
    import zarr

    from tests.core.test_stack_zarr import write_ome_zarr
    from unet_studio.core.stack import open_stack
    from unet_studio.workflow import cluster_volume
    from unet_studio.workflow.cluster import predict_on_cluster
    from unet_studio.ml.model_file import load_model
    from unet_studio.workflow.export import OME_ZARR, PredictionOptions

    monkeypatch.setattr(cluster_volume, "PLANES_PER_TASK", 3)      # 20 planes: 7 tasks
    _, model_path = images_and_model
    rng = np.random.default_rng(1)
    write_ome_zarr(tmp_path / "embryo.ome.zarr", (rng.random((20, 520, 600)) * 1000).astype(np.uint16), "zyx",
                   {"z": 2.0, "y": 0.5, "x": 0.5}, {a: "micrometer" for a in "zyx"})
    options = PredictionOptions(format=OME_ZARR)
    one = plan_outputs([tmp_path / "embryo.ome.zarr"], tmp_path / "one", [MASK, PROBABILITIES], format=OME_ZARR)
    assert [s for s in predict_images(load_model(model_path), one, options) if s.written]
    two = plan_outputs([tmp_path / "embryo.ome.zarr"], tmp_path / "two", [MASK, PROBABILITIES], format=OME_ZARR)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            pids = list(client.run(os.getpid).values())
        steps = predict_on_cluster(model_path, two, options, scheduler=cluster.scheduler_address)
        finished = [next(steps)]
        known = lambda: sum(str(key).startswith("predict-") for key in list(cluster.scheduler.tasks))  # noqa: E731
        deadline = time.monotonic() + 30
        while known() == 7 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert known() < 7     # the task read is forgotten: a worker dying with its result does not rerun it
        os.kill(pids[0], signal.SIGKILL)          # one worker dies mid-run
        finished += list(steps)
    assert [s.image for s in finished if s.written] == [0] and not any(s.skipped for s in finished)
    assert len(finished) == 7 and [s.fraction for s in finished][-1] == 1.0
    for what in ("mask", "probabilities"):
        single, shared = (tmp_path / run / f"embryo_{what}.ome.zarr" for run in ("one", "two"))
        levels = sorted(zarr.open_group(str(single), mode="r").array_keys())
        assert levels == sorted(zarr.open_group(str(shared), mode="r").array_keys()) and len(levels) == 2
        for level in levels:
            np.testing.assert_allclose(zarr.open_array(str(shared / level), mode="r")[:],
                                       zarr.open_array(str(single / level), mode="r")[:], rtol=0, atol=1e-6)
        with open_stack(shared) as back:
            assert back.axes.replace("C", "") == "ZYX" and back.z_spacing == pytest.approx(2.0)
    recover(tmp_path / "two")
    assert sorted(os.listdir(tmp_path / "two")) == ["embryo_mask.ome.zarr", "embryo_probabilities.ome.zarr"]


def test_a_task_whose_set_is_gone_writes_nothing(images_and_model, tmp_path):
    """A task still running when its volume's set was swapped in (or discarded) must not make
    its temporary image again beside the finished files."""
    from tests.core.test_stack_zarr import write_ome_zarr
    from unet_studio.core.stack import open_stack
    from unet_studio.ml.model_file import load_model
    from unet_studio.ml.predict import normalisation_for
    from unet_studio.workflow.batch import ImageOutputs
    from unet_studio.workflow.cluster_volume import predict_range
    from unet_studio.workflow.export import OME_ZARR, PredictionOptions

    model = load_model(images_and_model[1])
    source = tmp_path / "embryo.ome.zarr"
    write_ome_zarr(source, (np.random.default_rng(2).random((4, 64, 64)) * 1000).astype(np.uint16), "zyx",
                   {"z": 2.0, "y": 0.5, "x": 0.5}, {a: "micrometer" for a in "zyx"})
    with open_stack(source) as stack:
        scaling = normalisation_for(model, stack).to_dict()
    gone = tmp_path / ".embryo_mask.ome.zarr.1-0eee194f.tmp"
    predict_range(model, ImageOutputs(source, {}), {MASK: str(gone)}, 0, 4, scaling,
                  PredictionOptions(format=OME_ZARR))
    assert sorted(os.listdir(tmp_path)) == ["embryo.ome.zarr"]
