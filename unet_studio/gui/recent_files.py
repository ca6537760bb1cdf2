"""The list of recently opened files, kept in QSettings between sessions."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

_KEY = "recent_files"
MAX_RECENT = 10


def recent_files(settings: QSettings | None = None) -> list[str]:
    """Most recent first; files that no longer exist are left out."""
    settings = settings or QSettings()
    value = settings.value(_KEY, [])
    if isinstance(value, str):  # QSettings returns a lone string for a one-item list
        value = [value]
    return [p for p in (value or []) if Path(p).exists()]


def add_recent_file(path: str | Path, settings: QSettings | None = None) -> None:
    settings = settings or QSettings()
    path = str(Path(path).resolve())
    files = [p for p in recent_files(settings) if p != path]
    settings.setValue(_KEY, [path] + files[: MAX_RECENT - 1])
