"""Which unet_studio has a project open: one at a time may change it.

Two windows on one project overwrite each other's work: the labels each autosaves, and the
model list of project.json (a model one window trained vanished from the list when the other
quit). So the window that opens a project first holds it: it keeps a small file in the project
folder (LOCK_FILE) open under a lock of the operating system, and writes into it which process
and computer it is. Another window opens the project read-only (Save As keeps its changes
elsewhere) while that lock stands. The system drops the lock when the holder quits or crashes,
so nobody clears anything by hand after a crash, and a process number reused after a restart
holds nothing. Two windows opening the same project at the same instant cannot both get it.

Shared folders: where the lock may not reach the other computer, a file naming another
computer holds the project until that window closes it, or until the user deletes the file.

    holder = claim(folder)   # None: this process holds it; else "another unet_studio window
    ...                      #   (process 4021)", and nothing was taken
    release(folder)
"""
from __future__ import annotations

import errno
import json
import os
import socket
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:   # Windows
    fcntl = None
    import msvcrt

LOCK_FILE = ".open-in-unet_studio.json"
# Windows locks bytes, and a locked byte cannot be read by others: lock one far past the text.
_WINDOWS_LOCKED_BYTE = 1 << 20

# Folders this process holds: the open lock file and how many Projects hold it through it
# (a second lock on the same file from this process would fail against the first).
_HELD: dict[str, list] = {}
_HELD_LOCK = threading.Lock()


def claim(folder: str | Path) -> str | None:
    """Hold the project in `folder` for this process. None where it now does (or already did);
    else who holds it, in the user's words, and nothing is taken. OSError where the folder
    takes no file."""
    key = os.path.abspath(folder)
    with _HELD_LOCK:
        if key in _HELD:
            _HELD[key][1] += 1
            return None
        path = Path(key) / LOCK_FILE
        while True:
            fh = open(path, "a+b")
            if not _lock(fh):
                fh.close()
                return _describe(_read(path))
            if _same_file(fh, path):   # not one a releasing holder just removed
                break
            fh.close()
        other = _read(path)
        if other is not None and isinstance(other.get("host"), str) and other["host"] != socket.gethostname():
            fh.close()   # its lock may not reach here: it holds the project until it lets go
            return _describe(other)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode("utf-8"))
        fh.flush()
        _HELD[key] = [fh, 1]
        return None


def release(folder: str | Path) -> None:
    """Hold it no more (once every claim of this process on it is released)."""
    key = os.path.abspath(folder)
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] > 0:
            return
        del _HELD[key]
        fh, path = held[0], Path(key) / LOCK_FILE
        if fcntl is not None:   # removed while still locked: whoever locks it next sees it gone
            _unlink(path)
            fh.close()
        else:                   # Windows removes no open file
            fh.close()
            _unlink(path)


def _lock(fh) -> bool:
    """Lock the open lock file for this process: False where another holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            fh.seek(_WINDOWS_LOCKED_BYTE)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError as error:
        if fcntl is None or error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        # A file system that keeps no locks (some network or FUSE mounts): nobody can hold the
        # project there, and locking the user out of it would be worse than two windows.
    return True


def _same_file(fh, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
    except OSError:
        return False


def _describe(holder: dict | None) -> str:
    host = holder.get("host") if holder else None
    pid = holder.get("pid") if holder else None
    if isinstance(host, str) and host != socket.gethostname():
        return (f"unet_studio on the computer {host} (if it is not open there, delete "
                f"the file {LOCK_FILE} in the project folder and open it again)")
    if isinstance(pid, int):
        return f"another unet_studio window (process {pid})"
    return "another unet_studio window"


def _read(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
