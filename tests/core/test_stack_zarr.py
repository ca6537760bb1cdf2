"""OME-Zarr images open like a TIFF: axes, calibration and planes from the field's own writer."""
from __future__ import annotations

import numpy as np
import pytest

from unet_studio.core.errors import StackError
from unet_studio.core.stack import open_stack

zarr = pytest.importorskip("zarr")   # the optional [zarr] extra; the test extras install it


def write_ome_zarr(path, data: np.ndarray, axes: str, scale: dict, units: dict) -> None:
    """An OME-Zarr written by ome-zarr's own writer (NGFF 0.4), with a pyramid."""
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    write_image(data, group, axes=axes, fmt=FormatV04(), scale=scale, axes_units=units,
                scale_factors=(2, 4))


def test_a_czyx_volume_opens_with_its_axes_scale_and_planes(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, (2, 5, 96, 80)).astype(np.uint16)
    write_ome_zarr(tmp_path / "embryo.ome.zarr", data, "czyx", {"z": 2.0, "y": 0.25, "x": 0.4},
                   {a: "micrometer" for a in "zyx"})
    with open_stack(tmp_path / "embryo.ome.zarr") as stack:
        assert (stack.axes, stack.shape, stack.dtype) == ("ZCYX", (5, 2, 96, 80), np.uint16)
        assert stack.pixel_size == pytest.approx((0.25, 0.4)) and stack.z_spacing == pytest.approx(2.0)
        assert stack.unit == "um" and stack.name == "embryo.ome.zarr"
        for z in (0, 3):
            np.testing.assert_array_equal(stack.plane(0, z), data[:, z])


def test_scale_without_units_is_no_calibration(tmp_path):
    data = np.zeros((3, 40, 40), np.uint8)
    write_ome_zarr(tmp_path / "plain.ome.zarr", data, "zyx", {"z": 3.0, "y": 2.0, "x": 2.0}, None)
    with open_stack(tmp_path / "plain.ome.zarr") as stack:
        assert stack.axes == "ZYX" and stack.pixel_size is None and stack.z_spacing is None


def test_a_zarr_folder_without_image_metadata_is_one_line(tmp_path):
    zarr.open_group(str(tmp_path / "notes.zarr"), mode="w", zarr_format=2)
    with pytest.raises(StackError, match="not an OME-Zarr image"):
        open_stack(tmp_path / "notes.zarr")


def test_reading_planes_leaves_automatic_garbage_collection_off(tmp_path):
    """The app turns Python's automatic collection off (gui/garbage.py). ome-zarr's dask arrays
    turned it back on at every read (dask's slicing restores the state seen at its import),
    letting a training worker collect Qt objects: a deadlock."""
    import gc

    pytest.importorskip("dask.array")
    import dask.array.slicing  # noqa: F401 - imported while collection is on, as in a long session

    gc.enable()
    volume = np.arange(2 * 16 * 16, dtype=np.uint16).reshape(2, 16, 16)
    write_ome_zarr(tmp_path / "v.ome.zarr", volume, "zyx", {a: 1.0 for a in "zyx"}, {})
    with open_stack(tmp_path / "v.ome.zarr") as stack:
        gc.disable()
        try:
            np.testing.assert_array_equal(stack.plane(0, 1), volume[1:2])   # (C, Y, X)
            assert not gc.isenabled()
        finally:
            gc.enable()
