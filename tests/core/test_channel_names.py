"""What a file calls its channels (DAPI, GFP) comes with the image: OME-TIFF, CZI, OME-Zarr."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

from unet_studio.core.channel_names import MAX_LENGTH, named_channels
from unet_studio.core.stack import open_stack


def test_names_are_kept_only_when_they_name_every_channel_once():
    assert named_channels(["DAPI", "GFP"], 2) == ("DAPI", "GFP")
    assert named_channels([" DAPI\n", "GFP\x00 488"], 2) == ("DAPI", "GFP 488")
    assert named_channels(["DAPI"], 2) == ()                 # one of two named
    assert named_channels(["DAPI", None], 2) == ()
    assert named_channels(["DAPI", " "], 2) == ()
    assert named_channels(["Ch", "Ch"], 2) == ()             # names that tell nothing apart
    assert named_channels(["DAPI"], 1) == ()                 # one channel needs no name
    assert named_channels(["x" * 500, "y"], 2)[0] == "x" * MAX_LENGTH


def test_an_ome_tiff_names_its_channels_and_an_rgb_one_does_not(tmp_path):
    path = tmp_path / "cells.ome.tif"
    tifffile.imwrite(path, np.zeros((2, 3, 10, 12), np.uint16),
                     metadata={"axes": "ZCYX", "Channel": {"Name": ["DAPI", "GFP", "Cy5"]}})
    with open_stack(path) as stack:
        assert stack.n_c == 3 and stack.channel_names == ("DAPI", "GFP", "Cy5")
    rgb = tmp_path / "rgb.ome.tif"
    tifffile.imwrite(rgb, np.zeros((10, 12, 3), np.uint8), photometric="rgb", metadata={"axes": "YXS"})
    with open_stack(rgb) as stack:
        assert stack.n_c == 3 and stack.channel_names == ()
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, np.zeros((2, 10, 12), np.uint8), imagej=True, metadata={"axes": "CYX"})
    with open_stack(plain) as stack:
        assert stack.n_c == 2 and stack.channel_names == ()


def test_a_czi_names_its_channels(tmp_path):
    pyczi = pytest.importorskip("pylibCZIrw.czi")
    path = tmp_path / "cells.czi"
    with pyczi.create_czi(str(path)) as writer:
        for c in range(2):
            writer.write(data=np.full((10, 12), c + 1, np.uint8), plane={"C": c})
        writer.write_metadata(document_name="cells", channel_names={0: "DAPI", 1: "AF488"})
    with open_stack(path) as stack:
        assert stack.channel_names == ("DAPI", "AF488")
        assert stack.plane()[1].max() == 2


def test_an_ome_zarr_names_its_channels(tmp_path):
    pytest.importorskip("ome_zarr")
    from tests.core.test_stack_zarr import write_ome_zarr

    path = tmp_path / "cells.ome.zarr"
    write_ome_zarr(path, np.zeros((2, 16, 16), np.uint8), "cyx", {"c": 1.0, "y": 1.0, "x": 1.0}, {})
    import zarr

    root = zarr.open_group(str(path), mode="a")
    attrs = dict(root.attrs)
    where = attrs["ome"] if "ome" in attrs else attrs
    where["omero"] = {"channels": [{"label": "DAPI"}, {"label": "Cy5"}]}
    root.attrs.update(attrs)
    with open_stack(path) as stack:
        assert stack.channel_names == ("DAPI", "Cy5")
