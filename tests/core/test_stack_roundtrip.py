"""Files written in every common layout open with the right axes, shape, pixels and scale."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import StackError
from unet_studio.core.stack import Stack, open_stack

rng = np.random.default_rng(0)


def random_array(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    if dtype.kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


def planes_of(stack: Stack) -> np.ndarray:
    """All planes read one by one, shaped (T, Z, C, Y, X)."""
    return np.stack([np.stack([stack.plane(t, z) for z in range(stack.n_z)])
                     for t in range(stack.n_t)])


def as_tzcyx(data: np.ndarray, axes: str) -> np.ndarray:
    for i, axis in enumerate("TZCYX"):
        if axis not in axes:
            data = np.expand_dims(data, i)
            axes = axes[:i] + axis + axes[i:]
    return data


def check_pixels(stack: Stack, expected: np.ndarray, axes: str):
    assert stack.axes == axes
    assert stack.shape == expected.shape
    assert stack.dtype == expected.dtype
    whole = stack.read()
    assert whole.dtype == expected.dtype
    np.testing.assert_array_equal(whole, expected)
    np.testing.assert_array_equal(planes_of(stack), as_tzcyx(expected, axes))


@pytest.mark.parametrize("axes, shape", [
    ("YX", (17, 23)),
    ("ZYX", (4, 17, 23)),
    ("TYX", (3, 17, 23)),
    ("CYX", (2, 17, 23)),
    ("TZYX", (2, 3, 17, 23)),
    ("TZCYX", (2, 3, 4, 17, 23)),
])
def test_imagej_hyperstack_keeps_axes_shape_and_scale(tmp_path, axes, shape):
    data = random_array(shape, np.uint16)
    path = tmp_path / "hyper.tif"
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.25, 1 / 0.5),
                     metadata={"axes": axes, "unit": "um", "spacing": 1.5})
    with open_stack(path) as stack:
        check_pixels(stack, data, axes)
        assert stack.pixel_size == pytest.approx((0.5, 0.25))
        assert stack.unit == "um"
        assert not stack.axes_inferred and stack.axes_note == ""
        assert stack.z_spacing == (pytest.approx(1.5) if "Z" in axes else None)
        assert stack.name == "hyper.tif"


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_ome_czyx_is_reordered_to_zcyx(tmp_path, compression):
    data = random_array((2, 5, 16, 20), np.uint16)
    path = tmp_path / "cells.ome.tif"
    tifffile.imwrite(path, data, ome=True, compression=compression, photometric="minisblack",
                     metadata={"axes": "CZYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.3,
                               "PhysicalSizeZ": 2.0})
    with open_stack(path) as stack:
        check_pixels(stack, data.transpose(1, 0, 2, 3), "ZCYX")
        assert (stack.n_z, stack.n_c) == (5, 2)
        np.testing.assert_array_equal(stack.plane(0, 3), data[:, 3])
        assert stack.pixel_size == pytest.approx((0.3, 0.2))
        assert stack.z_spacing == pytest.approx(2.0)
        assert stack.unit == "um"


def test_ome_size_in_nanometres_is_given_in_micrometres(tmp_path):
    path = tmp_path / "nm.ome.tif"
    tifffile.imwrite(path, random_array((3, 8, 8), np.uint8), ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeX": 100, "PhysicalSizeXUnit": "nm",
                               "PhysicalSizeY": 100, "PhysicalSizeYUnit": "nm"})
    with open_stack(path) as stack:
        assert stack.pixel_size == pytest.approx((0.1, 0.1))
        assert stack.unit == "um"


@pytest.mark.parametrize("samples", [3, 4])
def test_rgb_samples_become_channels(tmp_path, samples):
    data = random_array((12, 14, samples), np.uint8)
    path = tmp_path / "photo.tif"
    tifffile.imwrite(path, data, photometric="rgb")
    with open_stack(path) as stack:
        check_pixels(stack, np.moveaxis(data, -1, 0), "CYX")


def test_rgb_z_stack_from_imagej(tmp_path):
    data = random_array((3, 10, 11, 3), np.uint8)
    path = tmp_path / "rgbz.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZYXS"})
    with open_stack(path) as stack:
        check_pixels(stack, np.moveaxis(data, -1, 1), "ZCYX")


def test_bigtiff(tmp_path):
    data = random_array((3, 2, 9, 13), np.float32)
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, data, bigtiff=True, photometric="minisblack",
                     metadata={"axes": "TZYX"})
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff
    with open_stack(path) as stack:
        check_pixels(stack, data, "TZYX")


def test_big_endian_file_reads_native_values(tmp_path):
    data = random_array((2, 9, 13), np.int16)
    path = tmp_path / "motorola.tif"
    tifffile.imwrite(path, data, byteorder=">", photometric="minisblack",
                     metadata={"axes": "ZYX"})
    with open_stack(path) as stack:
        check_pixels(stack, data, "ZYX")
        assert stack.plane(0, 1).dtype.byteorder in "=|"


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "int8", "int16", "int32",
                                   "float32", "float64", "bool"])
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_pixel_type_is_kept(tmp_path, dtype, compression):
    data = random_array((3, 9, 13), dtype)
    path = tmp_path / f"{dtype}.tif"
    tifffile.imwrite(path, data, compression=compression, photometric="minisblack",
                     metadata={"axes": "ZYX"})
    with open_stack(path) as stack:
        check_pixels(stack, data, "ZYX")


def test_plain_multipage_tiff_is_taken_as_z_and_says_so(tmp_path):
    data = random_array((6, 8, 9), np.uint16)
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as tif:
        for page in data:
            tif.write(page, metadata=None)  # no shape/axes metadata, like most software
    with open_stack(path) as stack:
        check_pixels(stack, data, "ZYX")
        assert stack.axes_inferred
        assert "Z" in stack.axes_note and "6" in stack.axes_note


def test_unnamed_dimensions_are_time_then_z(tmp_path):
    data = random_array((2, 3, 8, 9), np.uint8)
    path = tmp_path / "shaped.tif"
    # tifffile's own shape metadata without axis names ('QQYX')
    tifffile.imwrite(path, data, photometric="minisblack")
    with open_stack(path) as stack:
        check_pixels(stack, data, "TZYX")
        assert stack.axes_inferred and "time" in stack.axes_note


def test_size_one_axes_are_dropped(tmp_path):
    data = random_array((1, 4, 1, 8, 9), np.uint16)
    path = tmp_path / "thin.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TZCYX"})
    with open_stack(path) as stack:
        check_pixels(stack, data[0, :, 0], "ZYX")
        assert stack.plane(0, 2).shape == (1, 8, 9)
        assert stack.label_shape == (4, 8, 9) and stack.label_axes == "ZYX"


def test_complex_pixels_are_refused(tmp_path):
    path = tmp_path / "fft.tif"
    tifffile.imwrite(path, np.zeros((4, 4), np.complex64))
    with pytest.raises(StackError, match="fft.tif.*unsupported pixel type complex64"):
        open_stack(path)


def test_png_and_jpeg(tmp_path):
    import imageio.v3 as iio

    grey = random_array((10, 12), np.uint8)
    rgb = random_array((10, 12, 3), np.uint8)
    iio.imwrite(tmp_path / "grey.png", grey)
    iio.imwrite(tmp_path / "rgb.png", rgb)
    iio.imwrite(tmp_path / "photo.jpg", rgb)
    with open_stack(tmp_path / "grey.png") as stack:
        check_pixels(stack, grey, "YX")
    with open_stack(tmp_path / "rgb.png") as stack:
        check_pixels(stack, np.moveaxis(rgb, -1, 0), "CYX")
    with open_stack(tmp_path / "photo.jpg") as stack:
        assert (stack.axes, stack.shape) == ("CYX", (3, 10, 12))


def test_folder_of_tiffs_is_a_z_stack_in_natural_order(tmp_path):
    data = random_array((11, 6, 7), np.uint16)
    for z, plane in enumerate(data):
        tifffile.imwrite(tmp_path / f"slice_{z}.tif", plane)  # slice_10 after slice_9
    (tmp_path / "notes.txt").write_text("not an image")
    with open_stack(tmp_path) as stack:
        check_pixels(stack, data, "ZYX")
        assert stack.axes_inferred and "11" in stack.axes_note


def test_folder_with_a_different_size_file_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((6, 7), np.uint8))
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((6, 8), np.uint8))
    with pytest.raises(StackError, match="b.tif.*does not match"):
        open_stack(tmp_path)


def test_from_array_matches_a_file_stack():
    data = random_array((2, 3, 2, 8, 9), np.float32)
    stack = Stack.from_array(data, "TZCYX", name="memory", pixel_size=(0.1, 0.1), unit="um")
    check_pixels(stack, data, "TZCYX")
    assert (stack.n_t, stack.n_z, stack.n_c, stack.plane_shape) == (2, 3, 2, (8, 9))
    assert stack.label_shape == (2, 3, 8, 9) and stack.label_axes == "TZYX"
    assert stack.pixel_size == (0.1, 0.1) and stack.path is None


def test_from_array_refuses_axes_out_of_order():
    with pytest.raises(ValueError):
        Stack.from_array(np.zeros((2, 3, 4)), "ZTX")
    with pytest.raises(ValueError):
        Stack.from_array(np.zeros((3, 4)), "ZYX")


def test_plane_outside_the_stack_is_an_index_error():
    stack = Stack.from_array(np.zeros((3, 4, 5)), "ZYX")
    with pytest.raises(IndexError):
        stack.plane(0, 3)
    with pytest.raises(IndexError):
        stack.plane(1, 0)


def test_reading_a_closed_stack_is_a_stack_error(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((2, 4, 4), np.uint8), imagej=True,
                     photometric="minisblack", metadata={"axes": "ZYX"})
    stack = open_stack(tmp_path / "a.tif")
    stack.close()
    stack.close()  # twice is harmless
    with pytest.raises(StackError, match="a.tif.*closed"):
        stack.plane(0, 1)
