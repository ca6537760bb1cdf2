"""Bad files give one clear StackError naming the file, never another exception."""
from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unet_studio.core.errors import StackError, UnetStudioError
from unet_studio.core.stack import open_stack


def tiff_bytes(data, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, **kwargs)
    return buffer.getvalue()


def small_stack() -> np.ndarray:
    return np.arange(2 * 3 * 2 * 6 * 5, dtype=np.uint16).reshape(2, 3, 2, 6, 5)


# Valid files the mutations start from: each layout takes a different reading path.
VALID = {
    "imagej": tiff_bytes(small_stack(), imagej=True, metadata={"axes": "TZCYX"}),
    "ome_zlib": tiff_bytes(small_stack()[0], ome=True, compression="zlib",
                           photometric="minisblack", metadata={"axes": "ZCYX"}),
    "plain_pages": b"",  # filled below
    "rgb_bigtiff": tiff_bytes(np.zeros((6, 5, 3), np.uint8), photometric="rgb", bigtiff=True),
}
_pages = io.BytesIO()
with tifffile.TiffWriter(_pages) as _tif:
    for _plane in small_stack()[0, :, 0]:
        _tif.write(_plane, metadata=None)
VALID["plain_pages"] = _pages.getvalue()


@pytest.mark.parametrize("content, reason", [
    (b"", "file is empty"),
    (b"hello, this is a text file\n" * 20, "not a TIFF file"),
    (bytes(range(256)) * 8, "not a TIFF file"),
    (VALID["imagej"][: len(VALID["imagej"]) // 2], "truncated or damaged"),
    (VALID["imagej"][:6], "truncated or damaged"),
    (VALID["ome_zlib"][: len(VALID["ome_zlib"]) - 40], "truncated or damaged"),
])
def test_bad_file_is_named_with_a_plain_reason(tmp_path, content, reason):
    path = tmp_path / "bad.tif"
    path.write_bytes(content)
    with pytest.raises(StackError) as caught:
        with open_stack(path) as stack:
            for t in range(stack.n_t):
                for z in range(stack.n_z):
                    stack.plane(t, z)
    message = str(caught.value)
    assert "bad.tif" in message and reason in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(StackError, match="nothere.tif: no such file"):
        open_stack(tmp_path / "nothere.tif")


def test_empty_folder(tmp_path):
    with pytest.raises(StackError, match="no TIFF files"):
        open_stack(tmp_path)


def test_a_project_folder_is_named_as_a_project_not_an_image(tmp_path):
    from unet_studio.core.project import Project

    project = Project.create(tmp_path / "study.unet_studio")
    with pytest.raises(StackError, match="a unet_studio project, not an image"):
        open_stack(project.folder)


def test_stack_error_is_a_user_error():
    assert issubclass(StackError, UnetStudioError)


def read_everything(path) -> None:
    with open_stack(path) as stack:
        for t in range(stack.n_t):
            for z in range(stack.n_z):
                plane = stack.plane(t, z)
                assert plane.shape == (stack.n_c,) + stack.plane_shape


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layout=st.sampled_from(sorted(VALID)),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                   min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_damaged_tiff_gives_only_stack_error(tmp_path, layout, edits, cut):
    content = bytearray(VALID[layout])
    for where, value in edits:
        content[int(where * len(content))] = value
    if cut is not None:
        content = content[: int(cut * len(content))]
    path = tmp_path / "mutated.tif"
    path.write_bytes(bytes(content))
    try:
        read_everything(path)
    except StackError as error:
        assert "mutated.tif" in str(error) and "\n" not in str(error)
