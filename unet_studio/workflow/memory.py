"""How much memory this machine has free, and whether work that holds a known amount fits.

Work that must hold something whole (a volume for 3-D objects, a plane shown in the window)
checks its size here before any of it is read, and says so in one line instead of running the
machine out of memory.
"""
from __future__ import annotations

import os

SHARE_OF_FREE_MEMORY = 0.5   # what one piece of work may take of the memory free


def free_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable, else the free pages),
    None where the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def too_much(need: int, free: int | None = None) -> int | None:
    """The free bytes when `need` bytes are more than SHARE_OF_FREE_MEMORY of them (None when it
    fits, or the system does not say); `free`: None measures it."""
    free = free_memory() if free is None else free
    return free if free is not None and need > SHARE_OF_FREE_MEMORY * free else None


def share_of(free: int) -> str:
    """How a message says what was too much: "more than 50% of the 21.9 GB free"."""
    return f"more than {SHARE_OF_FREE_MEMORY:.0%} of the {free / 2**30:.1f} GB free"
