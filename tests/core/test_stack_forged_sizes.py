"""Tiny files that declare huge images, and planes with no data: a clear error, no gigabytes."""
from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import LabelsError, StackError
from unet_studio.core.label_file import read_labels, write_labels
from unet_studio.core.labels import DEFAULT_CLASSES
from unet_studio.core.stack import open_stack


def forged_ome(path, size_x="4294967297"):
    """A 2 kB OME-TIFF of 4 planes of 8 x 8 whose metadata claims SizeX = `size_x`."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((4, 8, 8), np.uint8), ome=True, metadata={"axes": "ZYX"})
    with tifffile.TiffFile(io.BytesIO(buffer.getvalue())) as tif:
        xml = tif.ome_metadata.replace('SizeX="8"', f'SizeX="{size_x}"')
    with tifffile.TiffWriter(path) as writer:
        for i in range(4):
            writer.write(np.zeros((8, 8), np.uint8), description=xml if i == 0 else None,
                         metadata=None, contiguous=False)
    return path


def run_capped(code: str, cap_bytes: int = 1_000_000_000) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python whose address space may grow by `cap_bytes` at most."""
    prelude = (
        "import resource\n"
        "used = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        f"resource.setrlimit(resource.RLIMIT_AS, (used + {cap_bytes}, resource.RLIM_INFINITY))\n"
    )
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True,
                          timeout=120)


def test_forged_ome_size_ends_info_in_one_line_with_little_memory(tmp_path):
    path = forged_ome(tmp_path / "forged.ome.tif")
    assert path.stat().st_size < 3000
    code = f"import sys\nfrom unet_studio.cli import main\nsys.exit(main(['info', {str(path)!r}]))\n"
    result = run_capped(code)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "forged.ome.tif" in lines[0]
    assert "declares" in lines[0] and "memory" not in lines[0]


def test_counting_the_scenes_of_a_forged_ome_file_refuses_it_with_little_memory(tmp_path):
    """A batch and a project count every image's scenes first (core/stack.scenes_in)."""
    path = forged_ome(tmp_path / "forged.ome.tif")
    code = ("from unet_studio.core.errors import StackError\n"
            "from unet_studio.core.stack import scenes_in\n"
            f"try:\n    scenes_in({str(path)!r})\nexcept StackError as e:\n    print(e)\n")
    result = run_capped(code)
    assert result.returncode == 0, result.stderr
    assert "forged.ome.tif" in result.stdout and "declares" in result.stdout


def test_an_honest_ome_file_still_opens(tmp_path):
    path = tmp_path / "fine.ome.tif"
    tifffile.imwrite(path, np.ones((3, 2, 16, 16), np.uint16), ome=True, metadata={"axes": "ZCYX"})
    with open_stack(path) as stack:
        assert stack.shape == (3, 2, 16, 16) and stack.plane(0, 2).shape == (2, 16, 16)


def zero_byte_counts(path, page_number):
    with tifffile.TiffFile(path, mode="r+") as tif:
        tag = tif.pages[page_number].tags["StripByteCounts"]
        tag.overwrite((0,) * len(tag.value) if isinstance(tag.value, tuple) else 0)


def test_a_plane_without_data_is_reported_not_shown_as_zeros(tmp_path):
    path = tmp_path / "holes.tif"
    with tifffile.TiffWriter(path) as writer:
        for _ in range(3):
            writer.write(np.full((20, 30), 7, np.uint8), rowsperstrip=5, metadata=None, contiguous=False)
    zero_byte_counts(path, 1)
    with open_stack(path) as stack:
        assert stack.plane(0, 0).max() == 7 and stack.plane(0, 2).max() == 7
        with pytest.raises(StackError, match="plane 2 holds no image data"):
            stack.plane(0, 1)


def test_a_tiny_one_bit_file_declaring_a_huge_plane_is_refused(tmp_path):
    path = tmp_path / "bits.tif"
    tifffile.imwrite(path, np.zeros((64, 64), bool))
    with tifffile.TiffFile(path, mode="r+") as tif:
        tags = tif.pages[0].tags
        tags["ImageWidth"].overwrite(40000)
        tags["ImageLength"].overwrite(4000)
        tags["RowsPerStrip"].overwrite(4000)
        tags["StripByteCounts"].overwrite(0)
    tracemalloc.start()
    try:
        with pytest.raises(StackError, match="bits.tif"):
            with open_stack(path) as stack:
                stack.plane(0, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # the declared plane is 160 MB


def test_labels_are_checked_against_the_image_before_they_are_decoded(tmp_path):
    path = tmp_path / "labels.tif"
    write_labels(path, np.zeros((40, 512, 512), np.uint8), "ZYX", list(DEFAULT_CLASSES))
    assert path.stat().st_size < 2_000_000  # 10 MB of labels, compressed
    tracemalloc.start()
    try:
        with pytest.raises(LabelsError, match="do not fit"):
            read_labels(path, expect_shape=(2, 16, 16))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000


def test_strips_claiming_more_bytes_than_the_file_holds_are_refused_before_reading(tmp_path):
    path = tmp_path / "claims.tif"
    tifffile.imwrite(path, np.ones((2, 16, 16), np.uint8), compression="zlib", photometric="minisblack")
    with tifffile.TiffFile(path, mode="r+") as tif:
        tif.pages[1].tags["StripByteCounts"].overwrite(2**31 - 1)
    code = (
        "from unet_studio.core.stack import open_stack\n"
        f"stack = open_stack({str(path)!r})\n"
        "assert stack.plane(0, 0).max() == 1\n"
        "stack.plane(0, 1)\n"
    )
    result = run_capped(code, cap_bytes=500_000_000)
    assert "StackError" in result.stderr and "beyond the end of the file" in result.stderr
    assert "MemoryError" not in result.stderr
