"""The lists of recently opened files and projects, kept in QSettings between sessions."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Slot

from unet_studio.workflow.opening import is_bundled_sample

_FILES_KEY = "recent_files"
_PROJECTS_KEY = "recent_projects"
MAX_RECENT = 10


def _read(settings: QSettings | None, key: str) -> list[str]:
    settings = settings or QSettings()
    value = settings.value(key, [])
    if isinstance(value, str):  # QSettings returns a lone string for a one-item list
        value = [value]
    return [p for p in (value or []) if Path(p).exists()]


def _add(path: str | Path, settings: QSettings | None, key: str) -> None:
    settings = settings or QSettings()
    path = str(Path(path).resolve())
    paths = [p for p in _read(settings, key) if p != path]
    settings.setValue(key, [path] + paths[: MAX_RECENT - 1])


def recent_files(settings: QSettings | None = None) -> list[str]:
    """Image files, most recent first; files that no longer exist are left out, and so is the
    bundled sample (it has its own button; its path inside the install means nothing to users)."""
    return [p for p in _read(settings, _FILES_KEY) if not is_bundled_sample(p)]


def add_recent_file(path: str | Path, settings: QSettings | None = None) -> None:
    if not is_bundled_sample(path):
        _add(path, settings, _FILES_KEY)


def recent_projects(settings: QSettings | None = None) -> list[str]:
    """Project folders, most recent first; folders that no longer exist are left out."""
    return [p for p in _read(settings, _PROJECTS_KEY) if (Path(p) / "project.json").is_file()]


def add_recent_project(folder: str | Path, settings: QSettings | None = None) -> None:
    _add(folder, settings, _PROJECTS_KEY)


class RecentLists(QObject):
    """The start view's recent files and projects, kept up to date as things are opened."""

    def __init__(self, settings: QSettings, start_view, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.start_view = start_view

    @Slot()
    def show(self) -> None:
        self.start_view.set_recent(recent_files(self.settings))
        self.start_view.set_recent_projects(recent_projects(self.settings))

    @Slot(str)
    def remember_file(self, path: str) -> None:
        add_recent_file(path, self.settings)
        self.show()

    @Slot(str)
    def remember_project(self, folder: str) -> None:
        add_recent_project(folder, self.settings)
        self.show()

    def last_folder(self) -> str:
        """Where the Open dialog starts: the folder of the last image opened, else ''."""
        files = recent_files(self.settings)
        return str(Path(files[0]).parent) if files else ""
