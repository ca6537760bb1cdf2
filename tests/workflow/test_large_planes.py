"""A plane too large to hold: its masks and probabilities are predicted and written part by
part, the same files as a whole-plane prediction gives, without the plane ever being read
whole; its objects are found window by window, the whole plane's objects."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

import unet_studio.core.stack as stack_module
from unet_studio.core.stack import Stack, open_stack
from unet_studio.workflow.export import (MASK, OBJECTS, OME_ZARR, PROBABILITIES, TIFF, PredictionOptions,
                                         output_name, predict_to_files)

zarr = pytest.importorskip("zarr")   # the optional [zarr] extra; the test extras install it

# 2 x 2 tiles of the default 1024 px: parts meet inside the plane in both directions.
SHAPE = (2, 1100, 1300)


def _slices():
    """Discs at 800 on a background of 200 to 250. A plane in parts measures its intensity
    range on blocks of it, a whole plane on all its pixels: here both find 200 and 800."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:SHAPE[1], :SHAPE[2]]
    discs = ((yy % 90 - 45) ** 2 + (xx % 110 - 55) ** 2) < 400
    return np.stack([np.where(discs, 800, 200 + rng.integers(0, 51, discs.shape)).astype(np.uint16)
                     for _ in range(SHAPE[0])])


def _export(model, folder, fmt, in_parts, monkeypatch):
    folder.mkdir()
    targets = {what: folder / output_name("slide", what, fmt) for what in (MASK, PROBABILITIES)}
    with monkeypatch.context() as patch:
        patch.setattr(stack_module, "WHOLE_PLANE_PIXELS", 1000 * 1000 if in_parts else 10 ** 9)
        stack = Stack.from_array(_slices(), "ZYX", pixel_size=(0.5, 0.5), unit="um", name="slide.tif")
        assert stack.read_in_parts == in_parts
        if in_parts:
            patch.setattr(Stack, "plane", lambda *a: pytest.fail("a whole plane was read"))
        steps = list(predict_to_files(model, stack, targets, PredictionOptions(format=fmt, views=1)))
    fractions = [s.fraction for s in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    return steps[-1].written


@pytest.mark.parametrize("fmt", [TIFF, OME_ZARR])
def test_parts_write_the_files_a_whole_plane_writes(model, tmp_path, monkeypatch, fmt):
    import unet_studio.workflow.export_zarr as export_zarr

    monkeypatch.setattr(export_zarr, "CHUNK", 128)   # pyramid levels made in several pieces
    whole = _export(model, tmp_path / "whole", fmt, False, monkeypatch)
    parts = _export(model, tmp_path / "parts", fmt, True, monkeypatch)
    assert [p.name for p in parts] == [p.name for p in whole]
    for a, b in zip(whole, parts):
        with open_stack(a) as one, open_stack(b) as other:
            assert (one.axes, one.shape, one.pixel_size) == (other.axes, other.shape, other.pixel_size)
            np.testing.assert_array_equal(one.read(), other.read())
        if fmt == OME_ZARR:   # and the pyramid, made piece by piece
            levels = [zarr.open_array(str(b / name), mode="r")[:]
                      for name in sorted(zarr.open_group(str(b), mode="r").array_keys())]
            assert len(levels) == 3
            for level, below in zip(levels, levels[1:]):
                if b.name.endswith("mask.ome.zarr"):
                    np.testing.assert_array_equal(below, level[..., ::2, ::2])
                else:
                    even = level[..., :level.shape[-2] // 2 * 2, :level.shape[-1] // 2 * 2]
                    four = even.reshape(even.shape[:-2] + (even.shape[-2] // 2, 2, even.shape[-1] // 2, 2))
                    mean = four.mean(axis=(-3, -1))
                    np.testing.assert_allclose(below[..., :mean.shape[-2], :mean.shape[-1]], mean, atol=1e-6)


@pytest.mark.parametrize("splitting", [False, True])   # cancelled while predicting, while splitting objects
def test_a_cancelled_export_in_parts_leaves_nothing(model, tmp_path, monkeypatch, splitting):
    from unet_studio.workflow import objects_in_parts
    from unet_studio.workflow.export import INSTANCES

    monkeypatch.setattr(stack_module, "WHOLE_PLANE_PIXELS", 1000 * 1000)
    windows, split = objects_in_parts.windows, []
    monkeypatch.setattr(objects_in_parts, "windows", lambda *a: split.append(1) or windows(*a))
    stack = Stack.from_array(_slices(), "ZYX", name="slide.tif")
    targets = {MASK: tmp_path / "slide_mask.tif", INSTANCES: tmp_path / "slide_instances.tif"}
    steps = predict_to_files(model, stack, targets, PredictionOptions(views=1, object_class=2))
    next(steps)
    while splitting and not split:
        next(steps)
    assert any(p.name.startswith(".mask-scratch") for p in tmp_path.iterdir())
    steps.close()
    assert list(tmp_path.iterdir()) == []


def _discs(shape, seed=0):
    """Discs of radius 9 to 13 px, some touching, some dim (the network unsure of them): the
    object mask and the object probability."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    labels = np.zeros(shape, np.int32)
    for i, (cy, cx) in enumerate(zip(rng.integers(0, shape[0], 900), rng.integers(0, shape[1], 900)), 1):
        r = rng.integers(9, 14)
        box = (slice(max(cy - r, 0), cy + r + 1), slice(max(cx - r, 0), cx + r + 1))
        disc = (yy[box] - cy) ** 2 + (xx[box] - cx) ** 2 <= r * r
        labels[box][disc & (labels[box] == 0)] = i
    sure = np.where(rng.random(labels.max() + 1) < 0.1, 0.58, 0.97)   # a tenth dim
    sure[0] = 0.02
    return labels > 0, sure[labels].astype(np.float32)


def _matched(found, truth, at=0.9):
    """The share of `truth`'s objects that one object of `found` covers with IoU >= at."""
    from skimage.metrics import contingency_table
    from skimage.segmentation import relabel_sequential

    truth, found = relabel_sequential(truth)[0], relabel_sequential(found)[0]
    overlap = contingency_table(truth, found).toarray()[1:, 1:]
    sizes_t, sizes_f = np.bincount(truth.ravel())[1:], np.bincount(found.ravel())[1:]
    iou = overlap / (sizes_t[:, None] + sizes_f[None, :len(overlap[0])] - overlap)
    return float((iou.max(axis=1) >= at).mean())


def test_objects_found_window_by_window_are_the_whole_planes(monkeypatch):
    from unet_studio.ml.objects import find_objects
    from unet_studio.workflow import objects_in_parts

    monkeypatch.setattr(objects_in_parts, "WINDOW", 400)       # 4 x 5 windows of a 1500 x 1700 plane
    monkeypatch.setattr(objects_in_parts, "SAMPLE_SIDE", 300)
    foreground, probability = _discs((1500, 1700))
    whole = find_objects(foreground, probability)

    def read(rows, cols):
        return foreground[rows, cols], probability[rows, cols], None, None

    found = list(objects_in_parts.windows(read, foreground.shape,
                                          *objects_in_parts.plane_measures(read, foreground.shape)))
    ids = [i for _, window in found for i in np.unique(window.objects) if i]
    plane = objects_in_parts.assembled(iter(found), foreground.shape)
    assert len(ids) == len(set(ids)) == plane.max()            # each object once, numbered 1..n
    assert abs(len(ids) - whole.max()) <= 0.01 * whole.max()
    assert _matched(plane, whole) >= 0.98 and _matched(whole, plane) >= 0.98
    crossing = np.unique(whole[:, 399:401])[1:]                # objects cut by a window's edge
    assert len(crossing) > 5 and _matched(plane, np.where(np.isin(whole, crossing), whole, 0)) >= 0.95


def test_the_objects_panel_finds_a_large_planes_objects_as_its_export_does(monkeypatch):
    from unet_studio.workflow import objects_in_parts
    from unet_studio.workflow.object_export import plane_objects

    monkeypatch.setattr(objects_in_parts, "WINDOW", 400)
    foreground, probability = _discs((900, 1000), seed=1)
    mask = np.where(foreground, 2, 1).astype(np.uint8)
    probabilities = np.stack([1 - probability, probability])
    whole = plane_objects(mask, probabilities, None, 2)
    monkeypatch.setattr(stack_module, "WHOLE_PLANE_PIXELS", 500 * 500)

    def read(rows, cols):
        return foreground[rows, cols], probability[rows, cols], None, None

    in_windows = plane_objects(mask, probabilities, None, 2)
    measured = objects_in_parts.plane_measures(read, foreground.shape)
    np.testing.assert_array_equal(in_windows.labels, objects_in_parts.assembled(
        objects_in_parts.windows(read, foreground.shape, *measured), foreground.shape))
    assert in_windows.object_size == measured[0]
    assert len(in_windows.table["id"]) == in_windows.labels.max()
    assert _matched(in_windows.labels, whole.labels) >= 0.97


@pytest.mark.parametrize("keeps_boundary", [False, True])
def test_objects_of_a_plane_in_parts_are_written_with_their_table_and_rois(trained_model, tmp_path, monkeypatch,
                                                                          keeps_boundary):
    """keeps_boundary: a model that keeps the starting model's boundary (ml/unet.py), which
    the windows read from a scratch file of their own."""
    import csv
    import zipfile

    import torch

    from tests.ml.synthetic import blobs
    from unet_studio.ml.unet import OutConv
    from unet_studio.workflow import objects_in_parts
    from unet_studio.workflow.export import INSTANCES, ROIS

    if keeps_boundary:
        trained_model = trained_model.copy()
        torch.manual_seed(0)
        head = OutConv(trained_model.net.outc.in_channels, 3).eval()
        with torch.no_grad():   # a boundary that varies over the plane, over one half in places
            head.bias.copy_(torch.tensor([0.0, 0.0, -0.5]))
        trained_model.net.keep_starting_head(head)
    image = np.concatenate([blobs(400, 60, seed=s)[0] for s in range(3)], axis=1)   # 400 x 1200
    monkeypatch.setattr(objects_in_parts, "WINDOW", 256)
    results = {}
    for limit, out in ((10 ** 9, "whole"), (300 * 300, "parts")):
        monkeypatch.setattr(stack_module, "WHOLE_PLANE_PIXELS", limit)
        stack = Stack.from_array(image, "YX", name="slide.tif")
        folder = tmp_path / out
        folder.mkdir()
        targets = {what: folder / output_name("slide", what) for what in (MASK, INSTANCES, OBJECTS, ROIS)}
        steps = list(predict_to_files(trained_model, stack, targets, PredictionOptions(object_class=2)))
        fractions = [s.fraction for s in steps]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        instances = tifffile.imread(targets[INSTANCES])
        rows = list(csv.DictReader(open(targets[OBJECTS])))
        assert sorted(int(r["id"]) for r in rows) == sorted(np.unique(instances)[1:].tolist())
        for row in rows[:20]:   # each row's numbers are its object's, in the plane
            pixels = np.argwhere(instances == int(row["id"]))
            assert int(row["area_px"]) == len(pixels)
            assert float(row["centroid_x"]) == pytest.approx(pixels[:, 1].mean(), abs=0.01)   # 6 digits
        assert len(zipfile.ZipFile(targets[ROIS]).namelist()) == len(rows)
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in targets.values())
        results[out] = instances
    assert results["parts"].dtype == np.uint32                  # cannot widen in the middle of a plane
    whole = int(results["whole"].max())
    assert whole > 50 and abs(int(results["parts"].max()) - whole) <= 0.03 * whole
    assert _matched(results["parts"], results["whole"]) >= 0.95


def test_predict_on_the_command_line_goes_part_by_part(model, tmp_path, monkeypatch, capsys):
    from unet_studio.cli import main
    from unet_studio.ml.model_file import save_model

    save_model(tmp_path / "model.pt", model)
    tifffile.imwrite(tmp_path / "slide.tif", _slices()[0], compression="zlib", tile=(256, 256))
    for limit, out in ((10 ** 9, "whole"), (1000 * 1000, "parts")):
        monkeypatch.setattr(stack_module, "WHOLE_PLANE_PIXELS", limit)
        assert main(["predict", str(tmp_path / "model.pt"), str(tmp_path / "slide.tif"), "--out",
                     str(tmp_path / out), "--views", "1"]) == 0
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "whole" / "slide_mask.tif"),
                                  tifffile.imread(tmp_path / "parts" / "slide_mask.tif"))
