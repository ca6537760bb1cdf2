"""Zeiss CZI files open like a TIFF: axes, calibration, planes, colour, scenes and mosaics, from
files written by Zeiss's own library (pylibCZIrw, the `czi` extra the test extras install)."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from pylibCZIrw import czi as pyczi

from unet_studio.core.errors import StackError
from unet_studio.core.stack import open_stack


def pixels(t: int, z: int, c: int, shape=(40, 50)) -> np.ndarray:
    return (np.arange(shape[0] * shape[1], dtype=np.uint16).reshape(shape) + 10000 * t + 1000 * z + 100 * c)


@pytest.fixture
def time_lapse(tmp_path):
    """2 time points x 3 slices x 2 channels of 40 x 50 px, 0.2 µm pixels, 1 µm apart."""
    path = tmp_path / "embryo.czi"
    with pyczi.create_czi(str(path)) as writer:
        for t in range(2):
            for z in range(3):
                for c in range(2):
                    writer.write(data=pixels(t, z, c), plane={"T": t, "Z": z, "C": c})
        writer.write_metadata(document_name="embryo", channel_names={0: "DAPI", 1: "GFP"},
                              scale_x=0.2e-6, scale_y=0.2e-6, scale_z=1e-6)
    return path


def test_a_time_lapse_opens_with_its_axes_calibration_and_planes(time_lapse):
    with open_stack(time_lapse) as stack:
        assert (stack.axes, stack.shape, stack.dtype) == ("TZCYX", (2, 3, 2, 40, 50), np.uint16)
        assert stack.pixel_size == (0.2, 0.2) and stack.z_spacing == 1.0 and stack.unit == "um"
        assert np.array_equal(stack.plane(1, 2), np.stack([pixels(1, 2, 0), pixels(1, 2, 1)]))
        assert np.array_equal(stack.region(0, 1, slice(5, 9), slice(30, 50)), stack.plane(0, 1)[:, 5:9, 30:])
        everything = stack.read()
        assert everything.shape == stack.shape and np.array_equal(everything[1, 0, 1], pixels(1, 0, 1))


def test_colour_comes_in_rgb_order_and_the_first_of_two_scenes_is_shown_whole(tmp_path):
    path = tmp_path / "section.czi"
    tile = np.zeros((30, 20, 3), np.uint8)
    tile[..., 0], tile[..., 1], tile[..., 2] = 10, 20, 200        # stored blue, green, red
    with pyczi.create_czi(str(path)) as writer:
        writer.write(data=tile, plane={"C": 0}, scene=0, location=(0, 0))
        writer.write(data=tile // 2, plane={"C": 0}, scene=0, location=(20, 0))   # a mosaic's 2nd tile
        writer.write(data=tile, plane={"C": 0}, scene=1, location=(500, 0))
    with open_stack(path) as stack:
        assert (stack.axes, stack.shape, stack.dtype) == ("CYX", (3, 30, 40), np.uint8)
        assert "2 scenes (wells, positions)" in stack.axes_note and stack.scenes == 2
        plane = stack.plane()
        assert plane[:, 0, 0].tolist() == [200, 20, 10] and plane[:, 0, 39].tolist() == [100, 10, 5]
        assert stack.pixel_size is None and stack.unit == ""   # no scaling: no calibration invented


def test_grey_channels_of_different_types_are_read_as_the_widest_with_their_values(tmp_path):
    """A transmitted-light channel of 8 bits beside fluorescence of 16, say; colour beside grey
    is refused in one line."""
    path = tmp_path / "two_detectors.czi"
    with pyczi.create_czi(str(path)) as writer:
        writer.write(data=np.full((10, 12), 200, np.uint8), plane={"C": 0})
        writer.write(data=np.full((10, 12), 40000, np.uint16), plane={"C": 1})
    with open_stack(path) as stack:
        assert stack.dtype == np.uint16 and stack.plane()[:, 0, 0].tolist() == [200, 40000]
    mixed = tmp_path / "colour_and_grey.czi"
    with pyczi.create_czi(str(mixed)) as writer:
        writer.write(data=np.zeros((10, 12, 3), np.uint8), plane={"C": 0})
        writer.write(data=np.zeros((10, 12), np.uint8), plane={"C": 1})
    with pytest.raises(StackError, match="colour_and_grey.czi: its channels mix colour and grey"):
        open_stack(mixed)


def test_a_czi_cut_short_is_one_line_naming_the_file(time_lapse):
    data = time_lapse.read_bytes()
    time_lapse.write_bytes(data[: len(data) // 3])
    with pytest.raises(StackError) as error:
        with open_stack(time_lapse) as stack:
            stack.read()
    assert str(time_lapse) in str(error.value) and "\n" not in str(error.value)


def test_without_the_reader_a_czi_says_what_to_install(time_lapse, monkeypatch):
    monkeypatch.setitem(sys.modules, "pylibCZIrw", None)
    with pytest.raises(StackError, match=r"pip install 'unet_studio\[czi\]'"):
        open_stack(time_lapse)


@pytest.mark.parametrize("name, head, kind", [("a.nd2", b"\xda\xce\xbe\x0a" + bytes(60), "Nikon ND2"),
                                              ("b.lif", b"\x70\x00\x00\x00" + bytes(60), "Leica LIF")])
def test_other_vendors_files_say_how_to_bring_them_in(tmp_path, name, head, kind):
    (tmp_path / name).write_bytes(head)
    with pytest.raises(StackError, match=f"a {kind} file, which is not read here: save it as OME-TIFF"):
        open_stack(tmp_path / name)


def test_a_czi_declaring_a_plane_far_larger_than_its_bytes_is_refused_before_reading(tmp_path):
    path = tmp_path / "forged.czi"
    with pyczi.create_czi(str(path)) as writer:   # two tiles 400,000 px apart: a 320 GB plane
        writer.write(data=np.ones((8, 8), np.uint16), plane={"C": 0}, location=(0, 0))
        writer.write(data=np.ones((8, 8), np.uint16), plane={"C": 0}, location=(400_000, 400_000))
    with pytest.raises(StackError, match="GB plane cannot fit in"):
        open_stack(path)


def test_planes_read_from_several_threads_at_once_are_whole(time_lapse):
    from concurrent.futures import ThreadPoolExecutor

    with open_stack(time_lapse) as stack:
        wanted = [(t, z) for t in range(2) for z in range(3)] * 8
        with ThreadPoolExecutor(4) as pool:
            planes = list(pool.map(lambda tz: stack.plane(*tz), wanted))
    for (t, z), plane in zip(wanted, planes):
        assert np.array_equal(plane, np.stack([pixels(t, z, 0), pixels(t, z, 1)]))


def test_a_scene_of_several_opens_by_its_number_and_one_that_is_not_there_is_named(tmp_path):
    path = tmp_path / "plate.czi"
    with pyczi.create_czi(str(path)) as writer:
        for k in range(3):
            writer.write(data=np.full((10 + k, 12), k + 1, np.uint8), plane={"C": 0}, scene=k, location=(100 * k, 0))
    with open_stack(path, scene=2) as stack:
        assert stack.scenes == 3 and stack.shape == (12, 12) and (stack.plane() == 3).all()
    with pytest.raises(StackError, match="holds 3 scene"):
        open_stack(path, scene=3)


def test_an_image_of_one_scene_has_no_second(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "a.tif", np.zeros((8, 8), np.uint8))
    with pytest.raises(StackError, match=r"holds 1 scene\(s\), not scene 2"):
        open_stack(tmp_path / "a.tif", scene=1)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("axis, start", [("C", 700_000_000), ("Z", 7_000_000)])
def test_a_damaged_directory_declaring_millions_of_channels_or_slices_is_refused_at_once(time_lapse, axis, start):
    """The subblock directory names each subblock's place (`DV` entries: 20-byte dimension
    entries, the name then an int32 start); a damaged start makes the file declare millions."""
    data = bytearray(time_lapse.read_bytes())
    directory = data.index(b"ZISRAWDIRECTORY")
    entry = data.index(axis.encode() + b"\x00\x00\x00", data.index(b"DV", directory))
    data[entry + 4: entry + 8] = start.to_bytes(4, "little")
    time_lapse.write_bytes(bytes(data))
    with pytest.raises(StackError, match="truncated or damaged"):
        with open_stack(time_lapse) as stack:
            stack.read()
