"""`unet-studio train` and `predict` as a user runs them: fresh processes, files on disk."""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from tests.kept_views import kept_view_probabilities
from unet_studio.core.stack import open_stack


def blobs(size: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A uint16 image of bright discs on noise, and the discs (bool)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    truth = np.zeros((size, size), bool)
    for _ in range(n):
        cy, cx = rng.integers(10, size - 10, 2)
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 64
    return (200 + 600 * truth + rng.normal(0, 60, truth.shape)).astype(np.uint16), truth


def scribbles(truth: np.ndarray, seed: int) -> np.ndarray:
    """Sparse labels: 1 = background, 2 = disc, 0 = unlabeled (every 5th pixel of each)."""
    labels = np.zeros(truth.shape, np.uint8)
    every = np.zeros(truth.shape, bool)
    every[::5, ::5] = True
    labels[every & ~truth] = 1
    labels[every & truth] = 2
    return labels


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "unet_studio", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    image, truth = blobs(64, 4, seed=1)
    labels = scribbles(truth, seed=1)
    tifffile.imwrite(folder / "cells.tif", image)
    tifffile.imwrite(folder / "cells_labels.tif", labels)
    zstack = np.stack([blobs(64, 4, seed=s)[0] for s in (2, 3, 4)])
    # y 0.25 um, x 0.4 um (resolution is given x first): a swap of the two would show.
    tifffile.imwrite(folder / "stack.tif", zstack, imagej=True, resolution=(1 / 0.4, 1 / 0.25),
                     metadata={"axes": "ZYX", "unit": "um", "spacing": 2.0})
    tifffile.imwrite(folder / "rgb.tif", np.stack([image] * 3, axis=-1).astype(np.uint8), photometric="rgb")
    tifffile.imwrite(folder / "nothing.tif", np.zeros_like(labels))
    tifffile.imwrite(folder / "one_class.tif", np.where(labels == 2, 2, 0).astype(np.uint8))
    tifffile.imwrite(folder / "small_labels.tif", labels[:32])
    (folder / "broken.tif").write_bytes(b"II*\x00" + b"\xff" * 40)
    (folder / "broken.pt").write_bytes(b"this is not a model")
    save_tiny_model(folder / "model.pt", image, labels)
    return folder


def save_tiny_model(path, image, labels) -> None:
    """A barely trained but valid model file (faster than a CLI run)."""
    from unet_studio.ml.model_file import save_model
    from unet_studio.ml.train import TrainConfig, train

    config = TrainConfig(steps=2, width=4, depth=2, patch=32, batch=1, device="cpu", seed=0)
    for progress in train([image], [labels], ["background", "cells"], config):
        pass
    save_model(path, progress.model)


def test_train_then_predict_writes_masks_like_the_source(files, tmp_path):
    model = tmp_path / "model.pt"
    done = run_cli("train", files / "cells.tif", "--labels", files / "cells_labels.tif", "--out", model,
                   "--steps", "3", "--seed", "0")
    assert done.returncode == 0, done.stderr
    assert model.is_file() and "model written" in done.stderr
    # stderr is a pipe here: progress comes as whole lines (step, loss, speed), not a live line
    assert re.search(r"step \d+, loss \d", done.stderr) and "patches/s" in done.stderr and "\r" not in done.stderr
    out = tmp_path / "masks"
    done = run_cli("predict", model, files / "stack.tif", files / "cells.tif", "--out", out,
                   "--probabilities", "--instances")
    assert done.returncode == 0, done.stderr
    with tifffile.TiffFile(out / "stack_mask.tif") as tif:
        mask = tif.asarray()
        assert tif.imagej_metadata["unit"] in ("um", "micron", "\\u00B5m", "µm")
        assert tif.imagej_metadata.get("spacing") == pytest.approx(2.0)
        assert tif.pages.first.tags["XResolution"].value[0] / tif.pages.first.tags["XResolution"].value[1] \
            == pytest.approx(2.5)
        assert tif.pages.first.tags["YResolution"].value[0] / tif.pages.first.tags["YResolution"].value[1] \
            == pytest.approx(4.0)
    for name in ("stack_mask.tif", "stack_probabilities.tif", "stack_instances.tif"):
        with open_stack(out / name) as written:
            assert written.pixel_size == pytest.approx((0.25, 0.4)), name
            assert written.z_spacing == pytest.approx(2.0), name
    assert mask.shape == (3, 64, 64) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    probs = tifffile.imread(out / "stack_probabilities.tif")
    assert probs.shape == (3, 2, 64, 64) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    assert tifffile.imread(out / "stack_instances.tif").shape == (3, 64, 64)
    assert tifffile.imread(out / "cells_mask.tif").shape == (64, 64)
    # Several images with their objects: one table of the counts per image, said on stderr.
    assert "counts per image in objects_per_image.csv" in done.stderr
    with open(out / "objects_per_image.csv", newline="") as f:
        counts = {row["image"]: int(row["objects"]) for row in csv.DictReader(f)}
    for name in ("stack", "cells"):
        with open(out / f"{name}_objects.csv", newline="") as f:
            assert counts[f"{name}.tif"] == len(list(csv.DictReader(f)))
    # One view instead of two: faster, the same files.
    done = run_cli("predict", model, files / "cells.tif", "--out", tmp_path / "quick", "--views", "1")
    assert done.returncode == 0, done.stderr
    assert tifffile.imread(tmp_path / "quick" / "cells_mask.tif").shape == (64, 64)
    info = run_cli("info", model)
    assert info.returncode == 0 and "background" in info.stdout and "width 16" in info.stdout
    info = run_cli("info", out / "stack_mask.tif")
    assert info.returncode == 0 and "0 = background, 1 = foreground" in info.stdout


def test_two_images_of_one_name_get_two_outputs(files, tmp_path):
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    for folder, name in (("d1", "cells.tif"), ("d2", "stack.tif")):
        (tmp_path / folder / "a.tif").write_bytes((files / name).read_bytes())
    done = run_cli("predict", files / "model.pt", tmp_path / "d1" / "a.tif", tmp_path / "d2" / "a.tif",
                   "--out", tmp_path / "p")
    assert done.returncode == 0, done.stderr
    assert tifffile.imread(tmp_path / "p" / "a_mask.tif").shape == (64, 64)
    assert tifffile.imread(tmp_path / "p" / "a-2_mask.tif").shape == (3, 64, 64)


@pytest.mark.parametrize("case", ["out is the image", "out is the labels", "time nan", "time inf",
                                  "time negative", "stray label value", "unwritable out"])
def test_training_refused_before_any_work(files, tmp_path, case):
    image = tmp_path / "v.tif"
    image.write_bytes((files / "cells.tif").read_bytes())
    labels = tmp_path / "l.tif"
    labels.write_bytes((files / "cells_labels.tif").read_bytes())
    if case == "unwritable out" and not os.path.isdir("/proc/self"):
        pytest.skip("needs a folder nobody can write in (/proc)")
    out, time_ = {"out is the image": (image, "5"), "out is the labels": (labels, "5"),
                  "time nan": (tmp_path / "m.pt", "nan"), "time inf": (tmp_path / "m.pt", "inf"),
                  "time negative": (tmp_path / "m.pt", "-3"),
                  "stray label value": (tmp_path / "m.pt", "5"),
                  "unwritable out": ("/proc/self/m.pt", "5")}[case]
    if case == "stray label value":
        stray = tifffile.imread(labels)
        stray[0, 0] = 7
        tifffile.imwrite(labels, stray)
    before = image.read_bytes(), labels.read_bytes()
    done = run_cli("train", image, "--labels", labels, "--out", out, "--time", time_)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unet-studio: error: "), done.stderr
    assert (image.read_bytes(), labels.read_bytes()) == before
    if case == "stray label value":
        assert "1, 2, 7" in lines[0] and "--classes" in lines[0]


def test_a_stray_label_value_trains_with_classes_given(files, tmp_path):
    labels = tifffile.imread(files / "cells_labels.tif")
    labels[0, 0] = 4
    tifffile.imwrite(tmp_path / "l.tif", labels)
    done = run_cli("train", files / "cells.tif", "--labels", tmp_path / "l.tif", "--out", tmp_path / "m.pt",
                   "--classes", "4", "--steps", "1")
    assert done.returncode == 0, done.stderr
    info = run_cli("info", tmp_path / "m.pt")
    assert "class 4" in info.stdout


def test_predict_never_writes_over_an_input(files, tmp_path):
    source = tmp_path / "a.tif"
    source.write_bytes((files / "cells.tif").read_bytes())
    named_like_output = tmp_path / "a_mask.tif"
    named_like_output.write_bytes((files / "cells.tif").read_bytes())
    before = named_like_output.read_bytes()
    done = run_cli("predict", files / "model.pt", source, named_like_output, "--out", tmp_path)
    assert done.returncode == 2 and "replace an input" in done.stderr, done.stderr
    assert named_like_output.read_bytes() == before and not (tmp_path / "a_mask_mask.tif").exists()


@pytest.mark.parametrize("case", ["missing labels", "wrong shape", "nothing labeled", "one class",
                                  "channels differ", "unreadable image", "labels count", "out is folder"])
def test_bad_training_input_is_one_line_and_exit_2(files, tmp_path, case):
    f = files
    image, labels = f / "cells.tif", f / "cells_labels.tif"
    args = {
        "missing labels": [image, "--labels", f / "no_such_labels.tif"],
        "wrong shape": [image, "--labels", f / "small_labels.tif"],
        "nothing labeled": [image, "--labels", f / "nothing.tif"],
        "one class": [image, "--labels", f / "one_class.tif"],
        "channels differ": [image, f / "rgb.tif", "--labels", labels, labels],
        "unreadable image": [f / "broken.tif", "--labels", labels],
        "labels count": [image, image, "--labels", labels],
        "out is folder": [image, "--labels", labels],
    }[case]
    out = tmp_path if case == "out is folder" else tmp_path / "m.pt"
    done = run_cli("train", *args, "--out", out, "--steps", "1")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unet-studio: error: ")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "m.pt").exists()


def test_predict_averages_the_plane_and_its_half_turn(files, tmp_path):
    from unet_studio.ml.model_file import load_model

    done = run_cli("predict", files / "model.pt", files / "stack.tif", "--out", tmp_path, "--probabilities")
    assert done.returncode == 0, done.stderr
    probabilities = tifffile.imread(tmp_path / "stack_probabilities.tif")
    model = load_model(files / "model.pt")
    with open_stack(files / "stack.tif") as stack:
        for z in range(stack.n_z):
            expected = kept_view_probabilities(model, stack.plane(0, z)[0], stack)
            np.testing.assert_allclose(probabilities[z], expected, atol=1e-5)


def test_an_unreadable_image_is_named_and_the_others_are_predicted(files, tmp_path):
    done = run_cli("predict", files / "model.pt", files / "cells.tif", files / "broken.tif",
                   files / "rgb.tif", "--out", tmp_path / "out")
    assert done.returncode == 1, done.stderr    # some failed
    failures = [line for line in done.stderr.splitlines() if line.startswith("unet-studio: failed: ")]
    assert len(failures) == 2 and "broken.tif" in failures[0] and "rgb.tif" in failures[1]
    assert "3 channel" in failures[1]
    assert done.stderr.strip().splitlines()[-1].startswith("1 image predicted, 2 failed")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["cells_mask.tif"]


def test_a_folder_of_mixed_images_predicts_file_by_file_and_a_rerun_skips_them(files, tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "screen"
    for i in range(50):
        size = int(rng.integers(24, 72))
        folder = data / (f"plate{i % 3}" if i % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(folder / f"well{i}.tif", blobs(size, 2, seed=i)[0])
    out = tmp_path / "masks"
    done = run_cli("predict", files / "model.pt", data, "--recursive", "--out", out, "--views", "1")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("50 images predicted;")
    masks = sorted(out.rglob("*_mask.tif"))
    assert len(masks) == 50 and (out / "plate1" / "well1_mask.tif").is_file()
    for i in (0, 1, 7):
        sub = f"plate{i % 3}" if i % 2 else ""
        source = tifffile.imread(data / sub / f"well{i}.tif")
        assert tifffile.imread(out / sub / f"well{i}_mask.tif").shape == source.shape
    written = {p: p.stat().st_mtime_ns for p in masks}

    again = run_cli("predict", files / "model.pt", data, "--recursive", "--out", out, "--views", "1")
    assert again.returncode == 0, again.stderr
    assert again.stderr.strip().splitlines()[-1].startswith("0 images predicted, 50 already done")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*_mask.tif")} == written

    redo = run_cli("predict", files / "model.pt", str(data / "plate1" / "*.tif"), "--out", out / "plate1",
                   "--views", "1", "--overwrite")
    assert redo.returncode == 0, redo.stderr
    assert redo.stderr.strip().splitlines()[-1].startswith("9 images predicted")


def test_objects_3d_joins_the_slices_of_a_z_stack(files, tmp_path):
    refused = run_cli("predict", files / "model.pt", files / "stack.tif", "--out", tmp_path / "no", "--objects-3d")
    assert refused.returncode == 2 and "--instances" in refused.stderr
    done = run_cli("predict", files / "model.pt", files / "stack.tif", "--out", tmp_path / "out",
                   "--instances", "--objects-3d", "--views", "1")
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out" / "stack_objects.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    # one row per object of the volume, its volume in µm³ (2 µm slices, 0.25 x 0.4 µm pixels)
    assert "volume_um3" in reader.fieldnames and "centroid_z" in reader.fieldnames
    instances = tifffile.imread(tmp_path / "out" / "stack_instances.tif")
    assert len(rows) == len(np.unique(instances)) - 1
    n = len(rows)   # and the count is said where the image's files are
    assert re.search(rf"stack\.tif: [\d.]+ s, {n} object{'s' if n != 1 else ''} -> ", done.stderr), done.stderr
    for row in rows:
        assert row["z"] == "-1"
        voxels = int((instances == int(row["id"])).sum())
        assert float(row["volume_um3"]) == pytest.approx(voxels * 2.0 * 0.25 * 0.4)


def test_areas_and_volumes_are_in_microns_whatever_unit_the_file_is_calibrated_in(files, tmp_path):
    """The same stack calibrated in nm (250 x 400 nm pixels, 2,000 nm apart) and in mm: the
    objects table's µm³ are the µm stack's (0.25 x 0.4 x 2 µm³ a voxel), not nm³ or mm³."""
    zstack = tifffile.imread(files / "stack.tif")
    for unit, factor in (("nm", 1e3), ("mm", 1e-3)):
        path = tmp_path / f"stack_{unit}.tif"
        tifffile.imwrite(path, zstack, imagej=True, resolution=(1 / (0.4 * factor), 1 / (0.25 * factor)),
                         metadata={"axes": "ZYX", "unit": unit, "spacing": 2.0 * factor})
        done = run_cli("predict", files / "model.pt", path, "--out", tmp_path / unit, "--instances",
                       "--objects-3d", "--views", "1")
        assert done.returncode == 0, done.stderr
        with open(tmp_path / unit / f"stack_{unit}_objects.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        instances = tifffile.imread(tmp_path / unit / f"stack_{unit}_instances.tif")
        assert rows
        for row in rows:
            voxels = int((instances == int(row["id"])).sum())
            assert float(row["volume_um3"]) == pytest.approx(voxels * 2.0 * 0.25 * 0.4), unit
        plane = run_cli("predict", files / "model.pt", path, "--out", tmp_path / f"{unit}-2d", "--instances",
                        "--views", "1")
        assert plane.returncode == 0, plane.stderr
        with open(tmp_path / f"{unit}-2d" / f"stack_{unit}_objects.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows and all(float(r["area_um2"]) == pytest.approx(int(r["area_px"]) * 0.1) for r in rows)


def test_a_folder_is_one_stack_only_when_asked(files, tmp_path):
    slices = tmp_path / "slices"
    slices.mkdir()
    for z in range(3):
        tifffile.imwrite(slices / f"z{z}.tif", blobs(48, 2, seed=z)[0])
    done = run_cli("predict", files / "model.pt", slices, "--as-stack", "--out", tmp_path / "out", "--views", "1")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["slices_mask.tif"]
    assert tifffile.imread(tmp_path / "out" / "slices_mask.tif").shape == (3, 48, 48)


@pytest.mark.parametrize("case", ["broken model", "missing model", "unreadable image"])
def test_bad_prediction_input_is_one_line_and_exit_2(files, tmp_path, case):
    model = {"broken model": files / "broken.pt", "missing model": files / "none.pt",
             "unreadable image": files / "broken.pt"}[case]
    image = files / ("broken.tif" if case == "unreadable image" else "cells.tif")
    done = run_cli("predict", model, image, "--out", tmp_path / "out")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unet-studio: error: ")


def test_an_ome_zarr_volume_in_and_out(files, tmp_path):
    pytest.importorskip("ome_zarr")
    from tests.core.test_stack_zarr import write_ome_zarr

    volume = np.stack([blobs(64, 3, seed=s)[0] for s in range(3)])
    data = tmp_path / "data"
    data.mkdir()
    write_ome_zarr(data / "embryo.ome.zarr", volume, "zyx", {"z": 2.0, "y": 0.5, "x": 0.5},
                   {a: "micrometer" for a in "zyx"})
    out = tmp_path / "out"
    done = run_cli("predict", files / "model.pt", data, "--format", "ome-zarr", "--out", out, "--views", "1")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["embryo_mask.ome.zarr"]   # the folder is one image
    with open_stack(out / "embryo_mask.ome.zarr") as mask:
        assert mask.axes == "ZYX" and mask.shape == volume.shape
        assert mask.pixel_size == pytest.approx((0.5, 0.5)) and mask.z_spacing == pytest.approx(2.0)
    again = run_cli("predict", files / "model.pt", data / "embryo.ome.zarr", "--format", "ome-zarr",
                    "--out", out, "--views", "1")
    assert again.returncode == 0 and "1 already done" in again.stderr
    info = run_cli("info", out / "embryo_mask.ome.zarr")   # its classes, its source, its size on disk
    assert "classes:" in info.stdout and f"predicted from: {data / 'embryo.ome.zarr'}" in info.stdout
    assert re.search(r"\(\d+(\.\d)? kB\)", info.stdout), info.stdout


def test_an_out_that_is_a_file_is_named_so(files, tmp_path):
    (tmp_path / "results").write_text("notes")
    done = run_cli("predict", files / "model.pt", files / "cells.tif", "--out", tmp_path / "results")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("results is a file, not a folder: give a folder for the outputs")


def test_the_counts_per_image_leave_out_an_image_that_failed(files, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "broken.tif").write_bytes(b"not a tiff at all")
    (out / "broken_objects.csv").write_text("id,area_px\n1,10\n")   # left by an earlier run
    done = run_cli("predict", files / "model.pt", files / "stack.tif", files / "cells.tif", tmp_path / "broken.tif",
                   "--out", out, "--instances", "--views", "1")
    assert done.returncode == 1 and "broken.tif" in done.stderr
    with open(out / "objects_per_image.csv", newline="") as f:
        assert sorted(row["image"] for row in csv.DictReader(f)) == ["cells.tif", "stack.tif"]


def test_each_scene_of_a_czi_plate_is_predicted_into_files_of_its_own(files, tmp_path):
    from pylibCZIrw import czi as pyczi

    wells = [blobs(64, 4, seed=5)[0], blobs(48, 2, seed=6)[0]]         # two scenes of other sizes
    plate = tmp_path / "plate.czi"
    with pyczi.create_czi(str(plate)) as writer:
        writer.write(data=wells[0], plane={"C": 0}, scene=0, location=(0, 0))
        writer.write(data=wells[1], plane={"C": 0}, scene=1, location=(1000, 0))
        writer.write_metadata(scale_x=0.5e-6, scale_y=0.5e-6)
    out = tmp_path / "out"
    done = run_cli("predict", files / "model.pt", plate, files / "cells.tif", "--out", out, "--instances", "--views", "1")
    assert done.returncode == 0, done.stderr
    assert "plate.czi, scene 2" in done.stderr
    for k, well in enumerate(wells):
        with open_stack(out / f"plate_scene{k + 1}_mask.tif") as mask:
            assert mask.shape == well.shape and mask.pixel_size == pytest.approx((0.5, 0.5))
    with open(out / "objects_per_image.csv", newline="") as f:
        assert sorted(row["image"] for row in csv.DictReader(f)) == ["cells.tif", "plate.czi, scene 1",
                                                                   "plate.czi, scene 2"]


def test_training_on_a_file_of_several_scenes_says_where_it_can_be_done(files, tmp_path):
    from pylibCZIrw import czi as pyczi

    plate = tmp_path / "plate.czi"
    with pyczi.create_czi(str(plate)) as writer:
        for k in range(2):
            writer.write(data=blobs(64, 4, seed=k)[0], plane={"C": 0}, scene=k, location=(1000 * k, 0))
    done = run_cli("train", plate, "--labels", files / "cells_labels.tif", "--out", tmp_path / "m.pt", "--steps", "1")
    assert done.returncode == 2 and "holds 2 scenes" in done.stderr and "in the app" in done.stderr
    assert not (tmp_path / "m.pt").exists()


def test_pixels_that_are_not_numbers_do_not_blank_the_mask(files, tmp_path):
    """A float image with a NaN patch and one infinite pixel is predicted like the same image
    without them (outside those pixels); training on it writes a model that loads."""
    image = tifffile.imread(files / "cells.tif").astype(np.float32)
    odd = image.copy()
    odd[:6, :6] = np.nan
    odd[40, 40] = np.inf
    tifffile.imwrite(tmp_path / "clean.tif", image)
    tifffile.imwrite(tmp_path / "odd.tif", odd)
    done = run_cli("predict", files / "model.pt", tmp_path / "clean.tif", tmp_path / "odd.tif",
                   "--out", tmp_path / "out", "--views", "1")
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    clean, masked = (tifffile.imread(tmp_path / "out" / f"{n}_mask.tif") for n in ("clean", "odd"))
    away = np.ones(image.shape, bool)
    away[:14, :14] = away[32:49, 32:49] = False
    assert clean[away].any() and (clean[away] == masked[away]).mean() > 0.99
    trained = run_cli("train", tmp_path / "odd.tif", "--labels", files / "cells_labels.tif",
                      "--out", tmp_path / "odd.pt", "--steps", "2", "--seed", "0")
    assert trained.returncode == 0, trained.stderr
    assert run_cli("info", tmp_path / "odd.pt").returncode == 0


def test_a_model_whose_weights_are_not_numbers_is_not_written_over_a_good_one(files, tmp_path):
    import shutil

    import torch

    from unet_studio.core.errors import ModelError
    from unet_studio.ml.model_file import load_model, save_model

    good = tmp_path / "model.pt"
    shutil.copy(files / "model.pt", good)
    model = load_model(good)
    with torch.no_grad():
        next(model.net.parameters()).fill_(float("nan"))
    with pytest.raises(ModelError, match="not written.*not numbers"):
        save_model(good, model)
    assert good.read_bytes() == (files / "model.pt").read_bytes()


def test_stopped_before_the_first_step_the_old_model_stays(files, tmp_path, monkeypatch, capsys):
    """Ctrl-C as training starts: nothing replaces the model at --out, and the line says so."""
    import shutil

    from unet_studio import cli_train
    from unet_studio.cli import main

    out = tmp_path / "model.pt"
    shutil.copy(files / "model.pt", out)
    monkeypatch.setattr(cli_train._StopOnCtrlC, "requested", classmethod(lambda cls: True))
    code = main(["train", str(files / "cells.tif"), "--labels", str(files / "cells_labels.tif"),
                 "--out", str(out), "--time", "30"])
    assert code == 2
    assert out.read_bytes() == (files / "model.pt").read_bytes()
    assert f"stopped before its first step: {out} is as it was" in capsys.readouterr().err


def test_labels_given_before_the_image_is_one_line_saying_the_order(files, tmp_path):
    done = run_cli("train", "--labels", files / "cells_labels.tif", files / "cells.tif", "--out", tmp_path / "m.pt")
    assert done.returncode == 2 and done.stderr.strip() == (
        "unet-studio: error: no image given: put the images first, then --labels "
        "(train IMAGE ... --labels LABELS ... --out MODEL)")


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999"])
def test_a_seed_out_of_range_is_one_line(files, tmp_path, seed):
    done = run_cli("train", files / "cells.tif", "--labels", files / "cells_labels.tif", "--out",
                   tmp_path / "m.pt", "--steps", "1", "--seed", seed)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"unet-studio: error: --seed {seed}: give a whole number from 0 to 4294967295"


def test_another_image_of_the_same_name_is_not_taken_for_one_already_done(files, tmp_path):
    """One output folder per experiment: ctrl/img01.tif today, treated/img01.tif tomorrow.
    The second is predicted (as img01-2) rather than skipped as done; each run again skips
    its own; the counts per image name them by their folders."""
    for folder, seed in (("ctrl", 5), ("treated", 6)):
        (tmp_path / folder).mkdir()
        tifffile.imwrite(tmp_path / folder / "img01.tif", blobs(64, 4, seed=seed)[0])
    out = tmp_path / "masks"
    first = run_cli("predict", files / "model.pt", tmp_path / "ctrl", "--out", out, "--views", "1", "--instances")
    second = run_cli("predict", files / "model.pt", tmp_path / "treated", "--out", out, "--views", "1", "--instances")
    assert first.returncode == second.returncode == 0, second.stderr
    assert second.stderr.strip().splitlines()[-1].startswith("1 image predicted"), second.stderr
    info = run_cli("info", out / "img01-2_mask.tif")
    assert f"predicted from: {tmp_path / 'treated' / 'img01.tif'}" in info.stdout
    for folder in ("ctrl", "treated"):
        again = run_cli("predict", files / "model.pt", tmp_path / folder, "--out", out, "--views", "1", "--instances")
        assert again.stderr.strip().splitlines()[-1].startswith("0 images predicted, 1 already done"), again.stderr
    together = run_cli("predict", files / "model.pt", tmp_path / "ctrl", tmp_path / "treated", "--out",
                       tmp_path / "both", "--views", "1", "--instances")
    assert together.returncode == 0, together.stderr
    assert "ctrl/img01.tif: " in together.stderr and "treated/img01.tif: " in together.stderr
    with open(tmp_path / "both" / "objects_per_image.csv", newline="") as f:
        assert [row["image"] for row in csv.DictReader(f)] == ["ctrl/img01.tif", "treated/img01.tif"]


@pytest.mark.parametrize("case, message", [
    ("image as the model", "cells.tif is an image, not a model file: give the model first (predict MODEL IMAGE ...)"),
    ("object class 0", "--object-class 0: the model has classes 1..2"),
    ("workers and scheduler", "--workers starts processes on this machine, --scheduler uses a cluster "
                              "already running: give one of them"),
    ("empty out", "an empty path was given as --out"),
    ("empty image path", "an empty path was given"),
    ("scheduler of no known form", "cannot reach the scheduler garbage ("),
])
def test_predict_requests_that_cannot_be_meant_are_one_line(files, tmp_path, case, message):
    args = {"image as the model": [files / "cells.tif", files / "model.pt", "--out", tmp_path / "o"],
            "object class 0": [files / "model.pt", files / "cells.tif", "--out", tmp_path / "o",
                               "--instances", "--object-class", "0"],
            "workers and scheduler": [files / "model.pt", files / "cells.tif", "--out", tmp_path / "o",
                                      "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
            "empty out": [files / "model.pt", files / "cells.tif", "--out", ""],
            "empty image path": [files / "model.pt", "", "--out", tmp_path / "o"],
            "scheduler of no known form": [files / "model.pt", files / "cells.tif", "--out", tmp_path / "o",
                                           "--scheduler", "garbage"]}[case]
    if case == "scheduler of no known form":
        pytest.importorskip("distributed")
    done = run_cli("predict", *args, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().startswith(f"unet-studio: error: {message}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_labels_that_are_no_tiff_or_numbered_objects_say_what_they_are(files, tmp_path):
    import imageio.v3 as iio

    labels = tifffile.imread(files / "cells_labels.tif")
    iio.imwrite(tmp_path / "labels.png", labels)
    png = run_cli("train", files / "cells.tif", "--labels", tmp_path / "labels.png", "--out", tmp_path / "m.pt",
                  "--steps", "1")
    assert png.returncode == 2
    assert png.stderr.strip() == ("unet-studio: error: labels.png: labels are read from TIFF files only; this one "
                                  "is not a TIFF (save the labels as TIFF, e.g. in Fiji: File > Save As > Tiff)")
    numbered = np.zeros(labels.shape, np.uint16)
    for i in range(40):   # 40 objects, one number each, as instance files hold them
        numbered[i, :4] = i + 2
    tifffile.imwrite(tmp_path / "instances.tif", numbered)
    objects = run_cli("train", files / "cells.tif", "--labels", tmp_path / "instances.tif", "--out",
                      tmp_path / "m.pt", "--steps", "1")
    assert objects.returncode == 2 and len(objects.stderr) < 300
    assert "2, 3, 4, 5, 6, 7, 8, 9, ... (40 values)" in objects.stderr and "numbered one by one" in objects.stderr


def test_a_model_file_cut_short_says_so(files, tmp_path):
    data = (files / "model.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    done = run_cli("info", tmp_path / "cut.pt")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("cut.pt is not a readable unet_studio model file (the file is cut short "
                                        "or damaged)"), done.stderr


def test_a_pattern_leaves_out_the_files_an_earlier_run_wrote_elsewhere(files, tmp_path):
    """'exp/**/*.tif' after a run that wrote into exp/first: its masks are no images to predict,
    while a user's own file named like an output is."""
    exp = tmp_path / "exp"
    exp.mkdir()
    tifffile.imwrite(exp / "cells.tif", tifffile.imread(files / "cells.tif"))
    tifffile.imwrite(exp / "their_mask.tif", tifffile.imread(files / "cells.tif"))   # not ours
    first = run_cli("predict", files / "model.pt", exp / "cells.tif", "--out", exp / "first", "--views", "1")
    assert first.returncode == 0, first.stderr
    again = run_cli("predict", files / "model.pt", f"{exp}/**/*.tif", "--out", tmp_path / "second", "--views", "1")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (tmp_path / "second").iterdir()) == ["cells_mask.tif", "their_mask_mask.tif"]
