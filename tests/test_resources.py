"""The files the app ships with can be found and opened (sample image, icon sizes)."""
from __future__ import annotations

import pytest
import tifffile

from unet_studio.resources import ICON_SIZES, icon_path, sample_image_path


def test_sample_image_is_a_small_greyscale_imagej_tiff():
    path = sample_image_path()
    assert path.is_file()
    assert path.stat().st_size < 1_000_000
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej
        series = tif.series[0]
        assert series.axes == "YX"
        assert series.dtype == "uint8"
        image = series.asarray()
        info = tif.imagej_metadata["Info"]
    assert 256 <= min(image.shape) and max(image.shape) <= 1024
    # a fluorescence image: dark background, bright nuclei, not a blank frame
    assert image.std() > 10
    assert "CC0" in info and "Data Science Bowl" in info


def test_icon_svg_by_default():
    path = icon_path()
    assert path.suffix == ".svg"
    assert "<svg" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("size", ICON_SIZES)
def test_every_icon_size_is_a_square_png_of_that_size(size):
    path = icon_path(size)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert (width, height) == (size, size)


@pytest.mark.parametrize(("asked", "given"), [(1, 16), (22, 16), (24, 32), (40, 48), (100, 128), (2000, 512)])
def test_icon_size_picks_the_nearest_available(asked, given):
    assert icon_path(asked).name == f"unet-studio-{given}.png"


@pytest.mark.parametrize("bad", [0, -16, 16.0, "32", True])
def test_icon_size_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError):
        icon_path(bad)


def test_resources_do_not_import_qt():
    import subprocess
    import sys

    code = "import sys, unet_studio.resources; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
