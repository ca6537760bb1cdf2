"""The images of an OME-TIFF (positions of one experiment) are scenes, as a CZI's are; other
files' further series (thumbnails, slide overviews) are not."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import StackError
from unet_studio.core.stack import open_stack, scenes_in


def test_each_image_of_an_ome_tiff_opens_as_a_scene_with_its_own_size_and_calibration(tmp_path):
    path = tmp_path / "positions.tif"      # OME inside, whatever the name says
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(np.full((3, 20, 30), 1, np.uint16), metadata={"axes": "ZYX", "PhysicalSizeX": 0.5,
                                                                "PhysicalSizeY": 0.5, "PhysicalSizeZ": 2.0})
        tif.write(np.full((2, 16, 24), 2, np.uint8), metadata={"axes": "CYX", "PhysicalSizeX": 0.25,
                                                               "PhysicalSizeY": 0.25})
    assert scenes_in(path) == 2
    with open_stack(path) as first:
        assert (first.axes, first.shape, first.pixel_size, first.z_spacing) == ("ZYX", (3, 20, 30), (0.5, 0.5), 2.0)
        assert first.name == "positions.tif, scene 1" and "2 scenes" in first.axes_note
    with open_stack(path, scene=1) as second:
        assert (second.axes, second.shape, second.dtype) == ("CYX", (2, 16, 24), np.uint8)
        assert second.pixel_size == (0.25, 0.25) and second.scene == 1 and (second.plane() == 2).all()
    with pytest.raises(StackError, match=r"holds 2 scene\(s\), not scene 3"):
        open_stack(path, scene=2)


def test_a_plain_tiff_s_further_series_are_not_scenes(tmp_path):
    path = tmp_path / "slide.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.ones((40, 40), np.uint8))
        tif.write(np.ones((8, 8), np.uint8))          # a thumbnail
    assert scenes_in(path) == 1
    with open_stack(path) as stack:
        assert stack.scenes == 1 and stack.name == "slide.tif" and "only the first is shown" in stack.axes_note
