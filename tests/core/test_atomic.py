"""Saving never leaves a half-written file under the user's file name."""
from __future__ import annotations

import os

import pytest

from unet_studio.core.atomic import atomic_path, atomic_write_bytes


def test_write_creates_the_file(tmp_path):
    atomic_write_bytes(tmp_path / "a.bin", b"labels")
    assert (tmp_path / "a.bin").read_bytes() == b"labels"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_temporary_file_is_hidden_beside_the_target(tmp_path):
    with atomic_path(tmp_path / "mask.tif") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".") and tmp.name.endswith(".tmp")
        tmp.write_bytes(b"new")
        assert not (tmp_path / "mask.tif").exists()  # nothing visible until done
    assert (tmp_path / "mask.tif").read_bytes() == b"new"


def test_error_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "labels.tif"
    target.write_bytes(b"old work")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old work"
    assert os.listdir(tmp_path) == ["labels.tif"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_replacing_keeps_the_file_permissions(tmp_path):
    target = tmp_path / "shared.tif"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert target.stat().st_mode & 0o777 == 0o640
