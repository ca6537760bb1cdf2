"""Atomic file writes: the target is either the old file or the complete new one.

A crash, a full disk or an exception half way through a save must never leave the user's
labels or masks truncated, so every writer goes through a temporary file beside the target
(same folder, hence same file system, so os.replace is atomic) and swaps it in at the end.

A writer killed mid-save (kill -9, power cut) leaves its temporary behind. The writer holds
an advisory lock (flock) on its temporary while it works, which the system drops when the
process dies; so after each successful write, temporaries in that folder that match our own
naming and that nobody holds any more are removed. Where there are no such locks (Windows),
only temporaries untouched for an hour are.
"""
from __future__ import annotations

import os
import re
import secrets
import stat
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

# What a temporary adds to its target's name (with a leading dot): `.<target>.<random>.tmp`.
TEMP_ENDING = r"\.[0-9a-f]{8}\.tmp"
_TEMP_NAME = re.compile(rf"^\..+{TEMP_ENDING}$")
# A temporary this young may be one whose writer has created it but not locked it yet.
_YOUNGEST_LEFTOVER = 2.0 if fcntl is not None else 3600.0
# Temporaries this process is writing: on file systems that emulate flock with per-process
# locks (NFS), our own lock would not keep another thread of ours from removing them.
_OURS: set[str] = set()
_OURS_LOCK = threading.Lock()


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` (same folder, hidden name ending in .tmp);
    on success fsync + os.replace(tmp, target); on error remove tmp, target untouched.

    The writer in the `with` block must create/overwrite the yielded path itself.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    tmp, lock = _create_temp_beside(folder, target.name)
    with _OURS_LOCK:
        _OURS.add(os.path.abspath(tmp))
    try:
        yield tmp
        # Flush the data to disk before the rename, or a power cut can leave an empty file
        # under the final name on some file systems.
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _keep_permissions(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    finally:
        with _OURS_LOCK:
            _OURS.discard(os.path.abspath(tmp))
        if lock is not None:
            os.close(lock)
    fsync_folder(folder)
    remove_left_temporaries(folder)


def remove_left_temporaries(folder: str | Path) -> None:
    """Remove temporaries of killed writers from `folder` (see module docstring): only our own
    naming, only plain files (never a symlink), only those no live writer holds."""
    cutoff = time.time() - _YOUNGEST_LEFTOVER
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not _TEMP_NAME.match(entry.name):
            continue
        with _OURS_LOCK:
            if os.path.abspath(entry.path) in _OURS:
                continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                _remove_if_unheld(entry.path)
        except OSError:
            pass  # gone meanwhile, or not ours to remove


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def _remove_if_unheld(path: str) -> None:
    if fcntl is None:
        os.unlink(path)
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a writer is alive
        os.unlink(path)
    finally:
        os.close(fd)


def _create_temp_beside(folder: Path, name: str) -> tuple[Path, int | None]:
    """(temporary path, descriptor holding its lock, None where there are no locks)."""
    # Not tempfile.mkstemp: that makes owner-only files, while a new file should get the
    # usual umask permissions, as if the writer had created it directly.
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        if fcntl is None:
            os.close(fd)
            return tmp, None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a file system without locks: the age rule still applies
            pass
        return tmp, fd
    raise FileExistsError(f"could not create a temporary file in {folder}")


def _keep_permissions(target: Path, tmp: Path) -> None:
    # Replacing a file should not change who may read it.
    try:
        os.chmod(tmp, target.stat().st_mode & 0o7777)
    except OSError:
        pass


def fsync_folder(folder: Path) -> None:
    """Make renames in `folder` durable (not possible on Windows, harmless to skip there)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
