"""Atomic file writes: the target is either the old file or the complete new one.

A crash, a full disk or an exception half way through a save must never leave the user's
labels or masks truncated, so every writer goes through a temporary file beside the target
(same folder, hence same file system, so os.replace is atomic) and swaps it in at the end.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` (same folder, hidden name ending in .tmp);
    on success fsync + os.replace(tmp, target); on error remove tmp, target untouched.

    The writer in the `with` block must create/overwrite the yielded path itself.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    tmp = _create_temp_beside(folder, target.name)
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
    _fsync_folder(folder)


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def _create_temp_beside(folder: Path, name: str) -> Path:
    # Not tempfile.mkstemp: that makes owner-only files, while a new file should get the
    # usual umask permissions, as if the writer had created it directly.
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file in {folder}")


def _keep_permissions(target: Path, tmp: Path) -> None:
    # Replacing a file should not change who may read it.
    try:
        os.chmod(tmp, target.stat().st_mode & 0o7777)
    except OSError:
        pass


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not possible on Windows, harmless to skip there.
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
