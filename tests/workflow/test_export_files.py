"""Exported files: one naming rule, the field's conventions, calibration only when the source
has it, and the outputs of one image replaced as a set."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from unet_studio.core.stack import Stack, open_stack
from unet_studio.workflow import output_set
from unet_studio.core.stack import image_stem, scene_stem
from unet_studio.workflow.batch import plan_outputs, unique_stems
from unet_studio.workflow.export_meta import class_names_in
from unet_studio.workflow.export import (INSTANCES, MASK, PROBABILITIES, OutputError, PredictionOptions,
                                         output_name, predict_to_files)

from tests.workflow.conftest import CLASSES


def volume(seed=0, shape=(3, 40, 48)):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 1000).astype(np.uint16)


def export(model, stack, folder, kinds=(MASK, PROBABILITIES, INSTANCES), stem="cells"):
    targets = {what: folder / output_name(stem, what) for what in kinds}
    steps = list(predict_to_files(model, stack, targets, PredictionOptions(object_class=2)))
    return steps[-1].written


def test_one_naming_rule():
    assert image_stem("image.ome.tif") == "image" and image_stem("a.b.TIFF") == "a.b"
    assert image_stem("/x/y/photo.png") == "photo" and image_stem(".tif") == ".tif"
    assert scene_stem("plate.czi", 2) == "plate_scene3" and scene_stem("cells.tif", None) == "cells"
    assert output_name("image", MASK) == "image_mask.tif"
    assert output_name("image", PROBABILITIES) == "image_probabilities.tif"
    assert unique_stems(["d1/a.tif", "d2/a.ome.tif", "a-2.tif", "b.tif"]) == ["a", "a-2", "a-2-2", "b"]


def test_mask_values_class_names_dtypes_and_calibration(model, tmp_path):
    stack = Stack.from_array(volume(), "ZYX", pixel_size=(0.25, 0.4), z_spacing=1.5, unit="um",
                             name="cells.tif")
    written = export(model, stack, tmp_path)
    assert [p.name for p in written] == ["cells_mask.tif", "cells_probabilities.tif", "cells_instances.tif"]
    mask = tifffile.imread(tmp_path / "cells_mask.tif")
    probabilities = tifffile.imread(tmp_path / "cells_probabilities.tif")
    instances = tifffile.imread(tmp_path / "cells_instances.tif")
    assert mask.dtype == np.uint8 and probabilities.shape == (3, 3, 40, 48)
    # background is 0, class k is k - 1: the most probable class's index
    np.testing.assert_array_equal(mask, np.argmax(probabilities, axis=1))
    assert class_names_in(tmp_path / "cells_mask.tif") == CLASSES
    assert instances.dtype == np.uint16
    from unet_studio.ml.predict import split_instances
    for z in range(3):
        np.testing.assert_array_equal(instances[z], split_instances(mask[z] == 1))
    for path in written:
        with open_stack(path) as back:
            assert back.pixel_size == pytest.approx((0.25, 0.4)) and back.z_spacing == pytest.approx(1.5)
            assert back.unit == "um"


def test_an_uncalibrated_image_gives_uncalibrated_files(model, tmp_path):
    stack = Stack.from_array(volume(1), "ZYX", name="plain.tif")
    for path in export(model, stack, tmp_path, stem="plain"):
        with tifffile.TiffFile(path) as tif:
            assert "unit" not in tif.imagej_metadata and "spacing" not in tif.imagej_metadata
        with open_stack(path) as back:
            assert back.pixel_size is None and back.z_spacing is None and back.unit == ""


def test_info_shows_the_class_names(model, tmp_path):
    stack = Stack.from_array(volume(2), "ZYX", name="c.tif")
    export(model, stack, tmp_path, kinds=(MASK,))
    done = subprocess.run([sys.executable, "-m", "unet_studio", "info", str(tmp_path / "cells_mask.tif")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "classes:" in done.stdout and "0 = background, 1 = nuclei, 2 = edges" in done.stdout


def test_outputs_never_replace_inputs(tmp_path):
    image = tmp_path / "a_mask.tif"
    with pytest.raises(OutputError, match="replace an input"):
        plan_outputs([tmp_path / "a.tif", image], tmp_path, [MASK])


def test_an_export_never_replaces_its_image(model, tmp_path):
    source = tmp_path / "cells.tif"
    tifffile.imwrite(source, volume(8), photometric="minisblack")
    before = source.read_bytes()
    with open_stack(source) as stack, pytest.raises(OutputError, match="the image itself"):
        list(predict_to_files(model, stack, {MASK: source}))
    assert source.read_bytes() == before


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_failure_between_renames_never_leaves_a_new_file_beside_an_old_one(model, tmp_path, monkeypatch):
    stack = Stack.from_array(volume(3), "ZYX", name="cells.tif")
    old = {}
    for path in export(model, stack, tmp_path):  # an earlier run's set, each file told apart
        old[path.name] = b"old " + path.name.encode()
        path.write_bytes(old[path.name])
    new_stack = Stack.from_array(volume(4), "ZYX", name="cells.tif")
    real_replace, calls = os.replace, []

    def replace_then_die(src, dst):  # the run is killed after renaming its first file
        if str(dst).endswith(".tif"):
            calls.append(dst)
            if len(calls) > 1:
                raise OSError(5, "killed")
        real_replace(src, dst)

    pid = dead_pid()
    monkeypatch.setattr(output_set.os, "getpid", lambda: pid)   # the run that dies
    monkeypatch.setattr(output_set.os, "replace", replace_then_die)
    with pytest.raises(OutputError):
        export(model, new_stack, tmp_path)
    monkeypatch.undo()
    present = {p.name: p.read_bytes() for p in tmp_path.glob("cells_*.tif")}
    assert present and all(data != old[name] for name, data in present.items())  # nothing old left
    assert len(present) < 3
    output_set.recover(tmp_path)  # what the next run does first
    present = {p.name: p.read_bytes() for p in tmp_path.glob("cells_*.tif")}
    assert sorted(present) == sorted(old) and all(present[n] != old[n] for n in old)  # all new
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "cells_probabilities.tif").argmax(axis=1),
                                  tifffile.imread(tmp_path / "cells_mask.tif"))


def test_the_next_run_removes_temporary_files_of_a_dead_run_only(model, tmp_path):
    dead = tmp_path / f".cells_mask.tif.{dead_pid()}-0123abcd.tmp"
    # killed while writing its set's marker (itself written through a temporary file)
    marker = tmp_path / f"..cells_mask.tif.{dead_pid()}-0123abcd.set.tmp.89abcdef.tmp"
    live = tmp_path / f".cells_mask.tif.{os.getppid()}-0123abcd.tmp"   # a run still writing
    other = tmp_path / ".notes.txt.tmp"                                 # not ours
    for path in (dead, marker, live, other):
        path.write_bytes(b"partial")
    export(model, Stack.from_array(volume(5), "ZYX", name="cells.tif"), tmp_path, kinds=(MASK,))
    assert not dead.exists() and not marker.exists() and live.exists() and other.exists()


def test_a_cancelled_export_leaves_the_old_files_and_no_temporary_file(model, tmp_path):
    stack = Stack.from_array(volume(6), "ZYX", name="cells.tif")
    old = {p.name: p.read_bytes() for p in export(model, stack, tmp_path)}
    steps = predict_to_files(model, Stack.from_array(volume(7), "ZYX"),
                             {MASK: tmp_path / "cells_mask.tif"}, PredictionOptions(object_class=2))
    next(steps)
    steps.close()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old


def test_instances_past_65535_widen_to_32_bits(tmp_path):
    from unet_studio.core.tiff_writer import TiffMetadata, TiffPlanes

    calibration = TiffMetadata(pixel_size=(0.5, 0.5), unit="um")
    with TiffPlanes(tmp_path / "i.tif", (3, 4, 5), "ZYX", np.uint16, calibration) as f:
        f.append(np.full((4, 5), 7))
        f.append(np.full((4, 5), 70_000))
        f.append(np.full((4, 5), 3))
    data = tifffile.imread(tmp_path / "i.tif")
    assert data.dtype == np.uint32 and data[:, 0, 0].tolist() == [7, 70_000, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["i.tif"]


def test_a_batch_prepares_the_network_once_and_writes_what_each_image_alone_writes(model, tmp_path, monkeypatch):
    """Preparing the network (a copy, folded, converted) costs more than a small image's
    prediction: a batch does it once for all its images, with the same files as one by one."""
    from unet_studio.ml import tiling
    from unet_studio.workflow.batch import predict_image, predict_images

    sources = []
    for i in range(3):
        sources.append(tmp_path / f"image{i}.tif")
        tifffile.imwrite(sources[-1], volume(seed=i, shape=(40, 48)))
    calls = []
    prepare = tiling.prepare_inference
    monkeypatch.setattr(tiling, "prepare_inference", lambda *a, **k: calls.append(1) or prepare(*a, **k))
    batch = plan_outputs(sources, tmp_path / "batch", [MASK, PROBABILITIES])
    steps = list(predict_images(model, batch))
    assert len(calls) == 1
    assert len([step for step in steps if step.written]) == 3 and not any(step.skipped for step in steps)
    alone = plan_outputs(sources, tmp_path / "alone", [MASK, PROBABILITIES])
    for item in alone:
        list(predict_image(model, item))
    for a, b in zip(batch, alone):
        for what in (MASK, PROBABILITIES):
            np.testing.assert_array_equal(tifffile.imread(a.targets[what]), tifffile.imread(b.targets[what]))
