"""Saving never leaves a half-written file under the user's file name."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


def left_by_a_kill(folder, name="mask.tif", age=60.0):
    """A temporary file as a killed writer leaves it (nobody holds it any more)."""
    tmp = folder / f".{name}.0badc0de.tmp"
    tmp.write_bytes(b"half a mask")
    old = time.time() - age
    os.utime(tmp, (old, old))
    return tmp


def test_the_next_write_into_a_folder_removes_temporaries_left_by_a_kill(tmp_path):
    left = left_by_a_kill(tmp_path)
    other = left_by_a_kill(tmp_path, "model.pt")
    atomic_write_bytes(tmp_path / "other.tif", b"done")
    assert sorted(os.listdir(tmp_path)) == ["other.tif"]
    assert not left.exists() and not other.exists()


def test_only_our_own_temporaries_are_removed_and_links_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = left_by_a_kill(outside)
    folder = tmp_path / "out"
    folder.mkdir()
    keep = [folder / ".notes.tmp", folder / "data.tmp", folder / ".a.tif.nothex!.tmp"]
    for path in keep:
        path.write_text("not ours")
        os.utime(path, (1, 1))
    os.symlink(victim, folder / ".b.tif.12345678.tmp")
    atomic_write_bytes(folder / "c.tif", b"done")
    assert all(p.exists() for p in keep) and victim.exists()


@pytest.mark.skipif(os.name != "posix", reason="lock held by a live writer")
def test_a_temporary_being_written_by_a_live_process_is_kept(tmp_path):
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from unet_studio.core.atomic import atomic_path\n"
         f"with atomic_path({str(tmp_path / 'big.tif')!r}) as tmp:\n"
         "    print(tmp, flush=True)\n"
         "    time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        tmp = Path(writer.stdout.readline().strip())
        os.utime(tmp, (1, 1))  # old, yet still being written
        atomic_write_bytes(tmp_path / "small.tif", b"done")
        assert tmp.exists()
        writer.kill()
        writer.wait()
        atomic_write_bytes(tmp_path / "small.tif", b"again")
        assert not tmp.exists()  # the writer died: its temporary is garbage now
    finally:
        writer.kill()
        writer.wait()
