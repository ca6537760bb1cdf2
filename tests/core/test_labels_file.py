"""Saving and loading labels as TIFF: round trip, foreign masks, damaged files."""
from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import LabelsError
from unet_studio.core.labels import LabelClass, LabelVolume


@pytest.mark.parametrize(
    "shape, axes", [((20, 30), "YX"), ((3, 20, 30), "ZYX"), ((2, 20, 30), "TYX"), ((2, 1, 20, 30), "TZYX")]
)
def test_save_load_round_trip_keeps_pixels_axes_and_classes(tmp_path, shape, axes):
    labels = LabelVolume(shape, axes)
    labels.add_class("mitochondria", (10, 200, 30))
    labels.rename_class(1, "cytoplasm")
    labels.data.reshape((-1, 20, 30))[-1, 5:9, 7:12] = 3
    labels.data.reshape((-1, 20, 30))[0, 0, 0] = 1
    path = tmp_path / "labels.tif"
    labels.save(path)
    back = LabelVolume.load(path)
    assert back.axes == axes and back.shape == shape
    np.testing.assert_array_equal(back.data, labels.data)
    assert back.classes == labels.classes
    assert back.classes[2] == LabelClass("mitochondria", (10, 200, 30))


def test_saved_file_is_a_plain_imagej_tiff_others_can_read(tmp_path):
    labels = LabelVolume((4, 16, 16), "ZYX")
    labels.paint_disc(0, 2, 8, 8, 3, 2)
    labels.save(tmp_path / "l.tif")
    with tifffile.TiffFile(tmp_path / "l.tif") as tif:
        assert tif.is_imagej and tif.series[0].axes == "ZYX"
        np.testing.assert_array_equal(tif.asarray(), labels.data)


def test_saving_over_a_file_replaces_it_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "l.tif"
    labels = LabelVolume((16, 16))
    labels.save(path)
    labels.paint_disc(0, 0, 8, 8, 2, 1)
    labels.save(path)
    assert LabelVolume.load(path).data[8, 8] == 1
    assert os.listdir(tmp_path) == ["l.tif"]


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "l.tif"
    labels = LabelVolume((16, 16))
    labels.paint_disc(0, 0, 8, 8, 2, 1)
    labels.save(path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    labels.paint_disc(0, 0, 2, 2, 2, 2)
    with pytest.raises(LabelsError, match="Permission denied"):
        labels.save(path)
    monkeypatch.undo()
    assert LabelVolume.load(path).data[2, 2] == 0
    assert os.listdir(tmp_path) == ["l.tif"]


def test_a_mask_from_another_program_loads_with_generic_classes(tmp_path):
    mask = np.zeros((5, 12, 12), np.uint16)
    mask[1, 2:4, 2:4] = 4
    tifffile.imwrite(tmp_path / "mask.tif", mask)
    labels = LabelVolume.load(tmp_path / "mask.tif")
    assert labels.axes == "ZYX" and labels.data.dtype == np.uint8
    assert labels.n_classes == 4 and labels.classes[:2] == LabelVolume((1, 1)).classes
    np.testing.assert_array_equal(labels.data, mask)


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a tiff at all", b"II*\x00" + b"\xff" * 40],
    ids=["empty", "text", "garbage-header"],
)
def test_a_damaged_labels_file_raises_labels_error(tmp_path, content):
    path = tmp_path / "l.tif"
    path.write_bytes(content)
    with pytest.raises(LabelsError, match="l.tif"):
        LabelVolume.load(path)


def test_a_truncated_labels_file_raises_labels_error(tmp_path):
    labels = LabelVolume((4, 64, 64), "ZYX")
    labels.data[:] = np.random.default_rng(0).integers(0, 3, labels.shape)
    path = tmp_path / "l.tif"
    labels.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LabelsError) as info:
        LabelVolume.load(path)
    assert "\n" not in str(info.value)


def test_damaged_pixel_data_raises_labels_error(tmp_path):
    labels = LabelVolume((64, 64))
    labels.data[:] = np.random.default_rng(0).integers(0, 3, labels.shape)
    path = tmp_path / "l.tif"
    labels.save(path)
    with tifffile.TiffFile(path) as tif:
        start, size = tif.pages.first.dataoffsets[0], tif.pages.first.databytecounts[0]
    raw = bytearray(path.read_bytes())
    raw[start + size // 2 : start + size // 2 + 8] = b"\x00" * 8
    path.write_bytes(bytes(raw))
    with pytest.raises(LabelsError):
        LabelVolume.load(path)


def test_labels_that_do_not_fit_the_image_raise_labels_error(tmp_path):
    LabelVolume((3, 16, 16), "ZYX").save(tmp_path / "l.tif")
    with pytest.raises(LabelsError, match="do not fit"):
        LabelVolume.load(tmp_path / "l.tif", expect_shape=(4, 16, 16))


def test_missing_file_and_unusable_content_raise_labels_error(tmp_path):
    with pytest.raises(LabelsError, match="not found"):
        LabelVolume.load(tmp_path / "nope.tif")
    tifffile.imwrite(tmp_path / "float.tif", np.zeros((8, 8), np.float32))
    with pytest.raises(LabelsError, match="whole numbers"):
        LabelVolume.load(tmp_path / "float.tif")
    tifffile.imwrite(tmp_path / "big.tif", np.full((8, 8), 1000, np.uint16))
    with pytest.raises(LabelsError, match="0 to 254"):
        LabelVolume.load(tmp_path / "big.tif")


def test_damaged_class_metadata_raises_labels_error(tmp_path):
    info = '{"format": "unet_studio labels", "version": 1, "axes": "YX", "shape": "x", "classes": 3}'
    tifffile.imwrite(tmp_path / "l.tif", np.zeros((8, 8), np.uint8), imagej=True, metadata={"Info": info})
    with pytest.raises(LabelsError, match="damaged"):
        LabelVolume.load(tmp_path / "l.tif")


def test_mutated_bytes_give_labels_error_or_labels_that_fit(tmp_path):
    # TIFF headers have no checksum, so a damaged header can change how pixels decode
    # (e.g. bits per sample); what must hold is that only the project's own error escapes
    # and that whatever loads fits the image (the zlib stream itself is checksummed).
    labels = LabelVolume((3, 32, 32), "ZYX")
    labels.data[:] = np.random.default_rng(0).integers(0, 3, labels.shape)
    labels.save(tmp_path / "good.tif")
    raw = (tmp_path / "good.tif").read_bytes()
    rng = np.random.default_rng(1)
    path = tmp_path / "bad.tif"
    for i in range(150):
        damaged = bytearray(raw[: rng.integers(0, len(raw))] if i % 3 == 0 else raw)
        for _ in range(0 if i % 3 == 0 else rng.integers(1, 5)):
            damaged[rng.integers(0, len(damaged))] = rng.integers(0, 256)
        path.write_bytes(bytes(damaged))
        try:
            back = LabelVolume.load(path, expect_shape=labels.shape)
        except LabelsError as e:
            assert "\n" not in str(e)
        else:
            assert back.shape == labels.shape and back.data.max() <= back.n_classes
