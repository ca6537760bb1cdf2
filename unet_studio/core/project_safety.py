"""Every path a project.json names stays inside the project folder.

project.json is a text file anyone can edit (or send): a labels or model path with "..", an
absolute path, a symlink out of the folder, or a labels path naming an image would make the
app rename, overwrite or delete files that are not the project's. Images are the exception:
they are only read, and may live anywhere.

`check_project_paths` repairs what a freshly read project.json names (labels get a new file
in labels/, models outside are dropped) and returns one problem line for each repair;
`inside_project` is asked again right before anything is written, renamed or deleted, since
a symlink may appear after the project was opened.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from unet_studio.core.errors import ProjectError
from unet_studio.core.project_file import PROJECT_FILE, ProjectData
from unet_studio.core.project_paths import (
    LABELS_DIR,
    MODELS_DIR,
    TRAINING_LOG,
    copy_file,
    unique_name,
)

OUTSIDE = "outside the project folder"


def safe_relative(text: str) -> str | None:
    """`text` as a clean relative name ("labels/a.tif"), or None if it is empty, absolute
    (on any system) or climbs out with "..". Symlinks are not looked at here."""
    text = str(text).replace("\\", "/")
    if not text or PurePosixPath(text).is_absolute() or PureWindowsPath(text).drive or text.startswith("/"):
        return None
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def inside_project(folder: Path, relative: str, what: str) -> Path:
    """folder/relative, checked to stay inside `folder` once symlinks are followed.

    Raises ProjectError ("... outside the project folder") otherwise: call it before writing,
    renaming or deleting anything a project file names."""
    clean = safe_relative(relative)
    if clean is not None:
        path = Path(folder) / clean
        if _resolves_inside(Path(folder), path):
            return path
    raise ProjectError(f"{what} ({relative}) is {OUTSIDE} {folder}; nothing is written there")


def labels_target(folder: Path, entry, images) -> Path:
    """Where the labels of `entry` (an ImageEntry) are written: inside the folder and never
    one of `images` (all the project's ImageEntry). ProjectError otherwise."""
    path = inside_project(folder, entry.labels, f"the labels of {entry.name}")
    if any(_real(e.path) == _real(path) for e in images):
        raise ProjectError(f"the labels of {entry.name} ({entry.labels}) name an image; "
                           "they are not written there")
    return path


def copy_own_file(old: Path, new: Path, relative: str, what: str) -> None:
    """Copy old/relative to new/relative (Save As), if it is a file; both ends are checked, so
    a path out of either folder is neither read nor written."""
    source = inside_project(old, relative, what)
    if source.is_file():
        copy_file(source, inside_project(new, relative, what))


def check_project_paths(folder: Path, data: ProjectData) -> list[str]:
    """Repair, in `data`, the paths that lead out of `folder` or onto an image; return one
    problem line per repair (see module docstring)."""
    problems = []
    for sub in (LABELS_DIR, MODELS_DIR, TRAINING_LOG):
        path = folder / sub
        if path.is_symlink() and not _resolves_inside(folder, path):
            problems.append(f"{sub} in {folder} is a link to a place {OUTSIDE}; it is not used")
    problems += _check_labels(folder, data)
    kept = []
    for model in data.models:
        try:
            inside_project(folder, model.file, "a model")
        except ProjectError:
            problems.append(f"model {model.id} is listed at {model.file}, {OUTSIDE}; it is not used")
            continue
        kept.append(model)
    data.models[:] = kept
    return problems


def _check_labels(folder: Path, data: ProjectData) -> list[str]:
    problems = []
    images = {_real(e.path) for e in data.images}
    reserved = {_real(folder / PROJECT_FILE), _real(folder / TRAINING_LOG)}
    used: set[Path] = set()
    for entry in data.images:
        reason = None
        try:
            path = _real(inside_project(folder, entry.labels, "labels"))
        except ProjectError:
            reason = f"point {OUTSIDE}"
        else:
            if path in images:
                reason = "name the image itself"
            elif path in reserved or path.parent == _real(folder / MODELS_DIR):
                reason = "name a file the project keeps for something else"
            elif path in used:
                reason = "share one file with another image"
        if reason is None:
            used.add(path)
            continue
        taken = {e.labels.split("/")[-1] for e in data.images}
        name = unique_name(folder / LABELS_DIR, entry.stem, ".tif", taken)
        problems.append(f"the labels of {entry.name} ({entry.labels}) {reason}; that file is not "
                        f"used, and new labels are kept in {LABELS_DIR}/{name}")
        entry.labels = f"{LABELS_DIR}/{name}"
        used.add(_real(folder / entry.labels))
    return problems


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _resolves_inside(folder: Path, path: Path) -> bool:
    root = _real(folder)
    real = _real(path)
    return real != root and root in real.parents
