"""Which unet_studio has a project open: one at a time may change it.

Two windows on one project overwrite each other's work: the labels each autosaves, and the
model list of project.json (a model one window trained vanished from the list when the other
quit). So the window that opens a project first holds it: a small file in the project folder
names its process and computer (LOCK_FILE). Another opens it read-only (Save As keeps its
changes elsewhere) while that process runs; a holder that is gone (quit, crashed) holds
nothing, so nobody has to clear anything by hand after a crash. A holder on another computer
(a shared folder) cannot be checked from here: it holds the project until that window closes
it, or until the user deletes the file.

    holder = held_elsewhere(folder)   # "another unet_studio window (process 4021)" or None
    take(folder); ...; release(folder)
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from unet_studio.core.atomic import atomic_write_bytes

LOCK_FILE = ".open-in-unet_studio.json"


def held_elsewhere(folder: str | Path) -> str | None:
    """Who else holds the project in `folder`, in the user's words; None where nobody does (or
    this process does, or the holder is gone)."""
    holder = _read(Path(folder))
    if holder is None:
        return None
    pid, host = holder.get("pid"), holder.get("host")
    if not isinstance(pid, int) or not isinstance(host, str):
        return None
    if host == socket.gethostname():
        if pid == os.getpid() or not _running(pid):
            return None
        return f"another unet_studio window (process {pid})"
    return (f"unet_studio on the computer {host} (if it is not open there, delete "
            f"{Path(folder) / LOCK_FILE} and open it again)")


def take(folder: str | Path) -> None:
    """Hold the project in `folder` for this process (atomically; OSError if it cannot)."""
    holder = {"pid": os.getpid(), "host": socket.gethostname()}
    atomic_write_bytes(Path(folder) / LOCK_FILE, json.dumps(holder).encode("utf-8"))


def release(folder: str | Path) -> None:
    """Hold it no more, if this process holds it."""
    path = Path(folder) / LOCK_FILE
    holder = _read(Path(folder))
    if holder is not None and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        try:
            path.unlink()
        except OSError:
            pass


def _read(folder: Path) -> dict | None:
    try:
        holder = json.loads((folder / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _running(pid: int) -> bool:
    """Whether a process `pid` runs on this computer."""
    if pid <= 0:
        return False
    if os.name == "nt":   # os.kill would end it there
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)   # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's process
        return True
    except OSError:
        return False
    return True
