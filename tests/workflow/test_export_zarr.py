"""Predictions as OME-Zarr: the same values and calibration as the TIFFs, a pyramid, written
plane by plane and swapped in whole (a folder, like a file of the set)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tifffile

from tests.workflow.conftest import CLASSES
from tests.workflow.test_export_files import export, volume
from unet_studio.core.stack import Stack, open_stack
from unet_studio.workflow.export_meta import Calibration
from unet_studio.workflow.export import (INSTANCES, MASK, OME_ZARR, PROBABILITIES, PredictionOptions,
                                         output_name, predict_to_files)

zarr = pytest.importorskip("zarr")   # the optional [zarr] extra; the test extras install it


def test_ome_zarr_files_hold_what_the_tiffs_hold(model, tmp_path):
    stack = Stack.from_array(volume(), "ZYX", pixel_size=(0.25, 0.4), z_spacing=1.5, unit="um",
                             name="cells.tif")
    export(model, stack, tmp_path)   # the TIFFs
    targets = {what: tmp_path / output_name("cells", what, OME_ZARR) for what in (MASK, PROBABILITIES, INSTANCES)}
    written = list(predict_to_files(model, stack, targets, PredictionOptions(object_class=2, format=OME_ZARR)))[-1].written
    assert [p.name for p in written] == ["cells_mask.ome.zarr", "cells_probabilities.ome.zarr",
                                         "cells_instances.ome.zarr"]
    for what, path in zip((MASK, PROBABILITIES, INSTANCES), written):
        tiff = tifffile.imread(tmp_path / output_name("cells", what))
        with open_stack(path) as back:
            assert back.pixel_size == pytest.approx((0.25, 0.4)) and back.z_spacing == pytest.approx(1.5)
            assert back.unit == "um"
            np.testing.assert_array_equal(back.read().reshape(tiff.shape), tiff)
    attributes = json.loads((written[0] / ".zattrs").read_text())
    assert attributes["unet_studio"]["classes"] == {str(k): name for k, name in enumerate(CLASSES)}
    assert [d["path"] for d in attributes["multiscales"][0]["datasets"]] == ["0"]   # 40 x 48: no pyramid
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]     # no temporary left


def test_a_second_run_replaces_the_folder_and_a_cancelled_one_leaves_it(model, tmp_path):
    target = {MASK: tmp_path / "cells_mask.ome.zarr"}
    for seed in (0, 1):
        stack = Stack.from_array(volume(seed), "ZYX", name="cells.tif")
        list(predict_to_files(model, stack, target, PredictionOptions(format=OME_ZARR)))
        with open_stack(target[MASK]) as back:
            second = back.read()
    stack = Stack.from_array(volume(1), "ZYX", name="cells.tif")
    first = list(predict_to_files(model, stack, {MASK: tmp_path / "again.ome.zarr"}, PredictionOptions(format=OME_ZARR)))
    with open_stack(first[-1].written[0]) as back:
        np.testing.assert_array_equal(back.read(), second)      # the second run's, whole
    steps = predict_to_files(model, Stack.from_array(volume(2), "ZYX", name="cells.tif"), target,
                             PredictionOptions(format=OME_ZARR))
    next(steps)
    steps.close()                                               # cancelled
    with open_stack(target[MASK]) as back:
        np.testing.assert_array_equal(back.read(), second)
    assert sorted(os.listdir(tmp_path)) == ["again.ome.zarr", "cells_mask.ome.zarr"]


def test_the_pyramid_halves_each_level_plane_by_plane(tmp_path):
    from unet_studio.workflow.export_zarr import ZarrPlanes

    rng = np.random.default_rng(0)
    masks = rng.integers(0, 3, (2, 1100, 600)).astype(np.uint8)
    planes = ZarrPlanes(tmp_path / "m.ome.zarr", masks.shape, "ZYX", np.uint8, Calibration((0.5, 0.5), None, "um"))
    for z in range(2):
        planes.append(masks[z])
    planes.close()
    group = zarr.open_group(str(tmp_path / "m.ome.zarr"), mode="r")
    np.testing.assert_array_equal(group["1"][:], masks[:, ::2, ::2])       # class values kept
    scales = [d["coordinateTransformations"][0]["scale"]
              for d in group.attrs["multiscales"][0]["datasets"]]
    assert scales == [[1.0, 0.5, 0.5], [1.0, 1.0, 1.0]]

    probabilities = rng.random((1, 2, 1024, 1030)).astype(np.float32)
    planes = ZarrPlanes(tmp_path / "p.ome.zarr", probabilities.shape, "TCYX", np.float32, Calibration(),
                        averaged=True)
    planes.append(probabilities[0])
    planes.close()
    group = zarr.open_group(str(tmp_path / "p.ome.zarr"), mode="r")
    assert group["1"].shape == (1, 2, 512, 515)
    np.testing.assert_allclose(group["1"][0, :, 3, 4], probabilities[0, :, 6:8, 8:10].mean(axis=(1, 2)), rtol=1e-6)
