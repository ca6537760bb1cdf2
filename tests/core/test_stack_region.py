"""Part of a plane is read without reading the plane, whatever the file keeps it in."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

import unet_studio.core.stack as stack_module
from unet_studio.core.stack import Stack, open_stack

zarr = pytest.importorskip("zarr")   # chunked TIFFs and OME-Zarr are read by region through zarr

PARTS = [(slice(10, 200), slice(5, 77)), (slice(0, 300), slice(250, 260)), (slice(299, 300), slice(0, 260))]


def _volume():
    return (np.random.default_rng(0).random((3, 2, 300, 260)) * 60000).astype(np.uint16)   # ZCYX


def _write(kind, path, data):
    if kind == "plain":
        tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZCYX"})
    elif kind == "tiled":
        tifffile.imwrite(path, data, compression="zlib", tile=(64, 64), metadata={"axes": "ZCYX"})
    elif kind == "strips":
        tifffile.imwrite(path, data, compression="zlib", rowsperstrip=16, metadata={"axes": "ZCYX"})
    else:
        from ome_zarr.format import FormatV04
        from ome_zarr.writer import write_image

        write_image(np.moveaxis(data, 1, 0), zarr.open_group(str(path), mode="w", zarr_format=2),
                    axes="czyx", fmt=FormatV04(), scale_factors=(2,))


@pytest.mark.parametrize("kind", ["plain", "tiled", "strips", "ome-zarr"])
def test_a_region_is_that_part_of_the_plane_read_alone(kind, tmp_path, monkeypatch):
    data = _volume()
    path = tmp_path / ("cells.ome.zarr" if kind == "ome-zarr" else "cells.tif")
    _write(kind, path, data)
    with open_stack(path) as stack:
        assert stack.axes == "ZCYX"
        monkeypatch.setattr(Stack, "plane", lambda *a: pytest.fail("the whole plane was read"))
        for z in (0, 2):
            for rows, cols in PARTS:
                np.testing.assert_array_equal(stack.region(0, z, rows, cols), data[z][:, rows, cols])


def test_an_rgb_picture_and_an_array_give_regions_too(tmp_path):
    rgb = (np.random.default_rng(1).random((120, 90, 3)) * 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "tissue.tif", rgb, compression="zlib", tile=(32, 32))
    with open_stack(tmp_path / "tissue.tif") as stack:
        np.testing.assert_array_equal(stack.region(0, 0, slice(7, 50), slice(60, 90)),
                                      np.moveaxis(rgb, -1, 0)[:, 7:50, 60:90])
    stack = Stack.from_array(_volume(), "ZCYX")
    np.testing.assert_array_equal(stack.region(0, 1, slice(3, 9), slice(250, None)), _volume()[1][:, 3:9, 250:])


def test_planes_above_the_limit_are_read_in_parts(monkeypatch):
    stack = Stack.from_array(np.zeros((20, 30), np.uint8), "YX")
    assert not stack.read_in_parts
    monkeypatch.setattr(stack_module, "WHOLE_PLANE_PIXELS", 599)
    assert stack.read_in_parts
