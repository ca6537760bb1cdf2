"""Masks written for Fiji/napari keep axes, scale and values, and never half-overwrite a file."""
from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile

from unet_studio.core import tiff_writer
from unet_studio.core.errors import StackError
from unet_studio.core.stack import open_stack
from unet_studio.core.tiff_writer import write_mask

rng = np.random.default_rng(1)


@pytest.mark.parametrize("axes, shape", [
    ("YX", (9, 11)), ("ZYX", (3, 9, 11)), ("TYX", (2, 9, 11)), ("TZYX", (2, 3, 9, 11)),
])
def test_imagej_mask_has_axes_scale_and_values(tmp_path, axes, shape):
    mask = rng.integers(0, 4, shape).astype(np.uint8)
    path = tmp_path / "mask.tif"
    write_mask(path, mask, axes, pixel_size=(0.4, 0.2), z_spacing=1.5, unit="um")
    with tifffile.TiffFile(path) as tif:  # what Fiji reads: the ImageJ header
        assert tif.is_imagej
        meta = tif.imagej_metadata
        assert meta["unit"] == "um"
        assert meta.get("slices", 1) == (shape[axes.index("Z")] if "Z" in axes else 1)
        assert meta.get("frames", 1) == (shape[axes.index("T")] if "T" in axes else 1)
        assert meta.get("channels", 1) == 1
        assert meta["max"] == mask.max()
        x_res, y_res = tif.pages[0].resolution
        assert (1 / y_res, 1 / x_res) == pytest.approx((0.4, 0.2))
    with open_stack(path) as stack:
        assert (stack.axes, stack.shape, stack.dtype) == (axes, shape, np.uint8)
        np.testing.assert_array_equal(stack.read(), mask)
        assert stack.pixel_size == pytest.approx((0.4, 0.2))
        assert stack.z_spacing == (pytest.approx(1.5) if "Z" in axes else None)


@pytest.mark.parametrize("top, dtype", [(1, np.uint8), (255, np.uint8), (256, np.uint16),
                                        (65535, np.uint16)])
def test_smallest_pixel_type_that_holds_every_class(tmp_path, top, dtype):
    mask = np.zeros((4, 5), np.int64)
    mask[1, 2] = top
    write_mask(tmp_path / "m.tif", mask, "YX")
    back = tifffile.imread(tmp_path / "m.tif")
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, mask)


def test_bool_mask_is_written_as_zero_and_one(tmp_path):
    mask = rng.random((6, 7)) > 0.5
    write_mask(tmp_path / "m.tif", mask, "YX")
    back = tifffile.imread(tmp_path / "m.tif")
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, mask.astype(np.uint8))


def test_probabilities_keep_float32_and_channels(tmp_path):
    probs = rng.random((3, 2, 8, 9)).astype(np.float64)
    write_mask(tmp_path / "p.tif", probs, "ZCYX", pixel_size=(0.5, 0.5))
    with open_stack(tmp_path / "p.tif") as stack:
        assert (stack.axes, stack.dtype) == ("ZCYX", np.float32)
        np.testing.assert_allclose(stack.read(), probs.astype(np.float32))


def test_narrow_mask_is_not_mistaken_for_rgb(tmp_path):
    mask = rng.integers(0, 3, (10, 3)).astype(np.uint8)
    write_mask(tmp_path / "m.tif", mask, "YX")
    with open_stack(tmp_path / "m.tif") as stack:
        assert (stack.axes, stack.shape) == ("YX", (10, 3))


def test_ome_tiff_keeps_physical_size(tmp_path):
    mask = rng.integers(0, 300, (2, 3, 8, 9)).astype(np.uint16)
    path = tmp_path / "mask.ome.tif"
    write_mask(path, mask, "TZYX", pixel_size=(0.3, 0.1), z_spacing=2.0, unit="um", ome=True)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        assert 'PhysicalSizeX="0.1"' in tif.ome_metadata
    with open_stack(path) as stack:
        assert (stack.axes, stack.shape, stack.dtype) == ("TZYX", mask.shape, np.uint16)
        np.testing.assert_array_equal(stack.read(), mask)
        assert stack.pixel_size == pytest.approx((0.3, 0.1))
        assert stack.z_spacing == pytest.approx(2.0)


@pytest.mark.parametrize("data, axes", [
    (np.zeros((2, 3, 4), np.uint8), "CYX"),     # masks have no channels
    (np.zeros((3, 4), np.uint8), "ZYX"),        # one letter per dimension
    (np.zeros((2, 3, 4), np.uint8), "ZTX"),     # Y and X last, order TZYX
    (np.full((3, 4), -1, np.int16), "YX"),      # no negative classes
    (np.full((3, 4), 2**33, np.int64), "YX"),   # does not fit 32 bits (instances widen to 32)
    (np.zeros((3, 4), np.complex64), "YX"),
])
def test_arrays_that_are_not_masks_are_refused(tmp_path, data, axes):
    with pytest.raises(ValueError):
        write_mask(tmp_path / "m.tif", data, axes)
    assert not (tmp_path / "m.tif").exists()


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "mask.tif"
    write_mask(path, np.ones((4, 4), np.uint8), "YX")
    before = path.read_bytes()

    def crash(tmp, *args, **kwargs):
        tmp.write_bytes(b"half a file")
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(tiff_writer, "_write_header", crash)
    with pytest.raises(RuntimeError):
        write_mask(path, np.full((4, 4), 2, np.uint8), "YX")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["mask.tif"]


def test_unwritable_place_is_a_one_line_stack_error(tmp_path):
    with pytest.raises(StackError, match="no_such_folder.*cannot write"):
        write_mask(tmp_path / "no_such_folder" / "m.tif", np.ones((4, 4), np.uint8), "YX")
