"""Opening a stack and showing one plane must not load the whole file into memory.

Memory is measured with tracemalloc, which sees every numpy buffer: reading the whole file
(even through a memory map copied into an array) would show up as a peak the size of the file.
"""
from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest
import tifffile

from unet_studio.core.stack import open_stack

N_Z, SIDE = 48, 512  # 48 x 512 x 512 uint16 = 24 MiB; one plane = 0.5 MiB


def peak_bytes(action):
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def ramp_planes(n_z: int, side: int) -> np.ndarray:
    """(Z, Y, X) uint16 where every plane is different and easy to check."""
    base = np.arange(side * side, dtype=np.uint16).reshape(side, side)
    return np.stack([base + np.uint16(z * 1000) for z in range(n_z)])


@pytest.fixture(scope="module")
def big_uncompressed(tmp_path_factory):
    path = tmp_path_factory.mktemp("lazy") / "big.tif"
    tifffile.imwrite(path, ramp_planes(N_Z, SIDE), imagej=True, metadata={"axes": "ZYX"})
    return path


@pytest.fixture(scope="module")
def many_compressed_pages(tmp_path_factory):
    path = tmp_path_factory.mktemp("lazy") / "pages.tif"
    with tifffile.TiffWriter(path) as tif:
        for plane in ramp_planes(32, 256):
            tif.write(plane, compression="zlib", metadata=None)
    return path


def test_opening_reads_no_pixels(big_uncompressed):
    stack, peak = peak_bytes(lambda: open_stack(big_uncompressed))
    with stack:
        assert stack.shape == (N_Z, SIDE, SIDE)
        assert peak < 2 * SIDE * SIDE * 2, f"opening allocated {peak} bytes"


def test_one_plane_of_an_uncompressed_stack_costs_about_one_plane(big_uncompressed):
    with open_stack(big_uncompressed) as stack:
        plane, peak = peak_bytes(lambda: stack.plane(0, 37))
        np.testing.assert_array_equal(plane[0], ramp_planes(N_Z, SIDE)[37])
    file_bytes = N_Z * SIDE * SIDE * 2
    assert peak < 3 * SIDE * SIDE * 2 < file_bytes / 8, f"peak {peak} bytes"


def test_one_plane_of_a_compressed_multipage_file_costs_about_one_plane(many_compressed_pages):
    with open_stack(many_compressed_pages) as stack:
        assert stack.shape == (32, 256, 256)
        plane, peak = peak_bytes(lambda: stack.plane(0, 30))
        np.testing.assert_array_equal(plane[0], ramp_planes(32, 256)[30])
    assert peak < 4 * 256 * 256 * 2, f"peak {peak} bytes for one 128 KiB plane of 4 MiB"


def test_planes_stay_readable_in_any_order(many_compressed_pages):
    expected = ramp_planes(32, 256)
    with open_stack(many_compressed_pages) as stack:
        for z in (31, 0, 17, 17, 5):
            np.testing.assert_array_equal(stack.plane(0, z)[0], expected[z])


def _resident_file_kb(path) -> int:
    """KB of `path` mapped into this process and resident (Linux's /proc/self/smaps)."""
    total, counting = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:      # a mapping's header line
                counting = len(fields) >= 6 and fields[5] == str(path)
            elif counting and fields[0] == "Rss:":
                total += int(fields[1])
    return total


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="reads Linux's /proc")
def test_reading_every_plane_leaves_no_pages_of_the_file_resident(big_uncompressed):
    """Predicting a long stack reads it plane by plane: the pages read must not stay in the
    process (a mapping kept open grew predict's peak memory by a plane per plane)."""
    with open_stack(big_uncompressed) as stack:
        for z in range(stack.n_z):
            stack.plane(0, z)
        resident = _resident_file_kb(big_uncompressed.resolve())
    assert resident < 2 * SIDE * SIDE * 2 // 1024, f"{resident} KB of the file stayed resident"
