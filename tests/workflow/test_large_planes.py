"""A plane too large to hold: its masks and probabilities are predicted and written part by
part, the same files as a whole-plane prediction gives, without the plane ever being read
whole; objects, which need the whole plane, are refused up front where it does not fit."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

import unet_studio.core.stack as stack_module
from tests.workflow.test_export_files import model  # noqa: F401 (fixture)
from unet_studio.core.stack import Stack, open_stack
from unet_studio.workflow.export import (MASK, OBJECTS, OME_ZARR, PROBABILITIES, TIFF, OutputError,
                                         PredictionOptions, check_plane_fits, output_name, predict_to_files)

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


def _export(model, folder, fmt, in_parts, monkeypatch):  # noqa: F811
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
def test_parts_write_the_files_a_whole_plane_writes(model, tmp_path, monkeypatch, fmt):  # noqa: F811
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


def test_a_cancelled_export_in_parts_leaves_nothing(model, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(stack_module, "WHOLE_PLANE_PIXELS", 1000 * 1000)
    stack = Stack.from_array(_slices(), "ZYX", name="slide.tif")
    steps = predict_to_files(model, stack, {MASK: tmp_path / "slide_mask.tif"}, PredictionOptions(views=1))
    for _ in range(3):
        next(steps)
    steps.close()
    assert list(tmp_path.iterdir()) == []


def test_objects_of_a_plane_too_large_for_memory_are_refused_before_any_work(model, tmp_path, monkeypatch):  # noqa: F811
    with pytest.raises(OutputError, match=r"40000 x 50000 px plane needs about \d+\.\d GB.*export masks"):
        check_plane_fits((40000, 50000), 3, 3, free=16 * 2**30)
    check_plane_fits((4000, 5000), 3, 3, free=16 * 2**30)   # 20 Mpx fits
    monkeypatch.setattr(stack_module, "WHOLE_PLANE_PIXELS", 1000 * 1000)
    import unet_studio.workflow.objects_3d as objects_3d
    monkeypatch.setattr(objects_3d, "free_memory", lambda: 10 ** 6)
    stack = Stack.from_array(_slices(), "ZYX", name="slide.tif")
    with pytest.raises(OutputError, match="objects are found in a whole plane"):
        next(predict_to_files(model, stack, {OBJECTS: tmp_path / "slide_objects.csv"},
                              PredictionOptions(object_class=2)))
    assert list(tmp_path.iterdir()) == []


def test_predict_on_the_command_line_goes_part_by_part(model, tmp_path, monkeypatch, capsys):  # noqa: F811
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
