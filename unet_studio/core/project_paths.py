"""Where projects live: the folder beside an image, or a per-user folder as a fallback."""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import sys
from pathlib import Path

from unet_studio.core.atomic import atomic_path, remove_left_temporaries
from unet_studio.core.stack import image_stem

PROJECT_SUFFIX = ".unet_studio"
LABELS_DIR = "labels"
MODELS_DIR = "models"
TRAINING_LOG = "training-log.jsonl"


def user_data_dir() -> Path:
    """Per-user folder for unet_studio's own data (XDG on Linux)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "unet_studio"


def folder_is_writable(folder: Path) -> bool:
    """True if a file can be created in `folder` (tried for real: os.access misleads root
    and network file systems)."""
    probe = folder / f".unet_studio-probe-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return True


def beside_image(image: Path) -> Path:
    """The project folder used for an image opened on its own: "<stem>.unet_studio/" beside it."""
    return image.parent / f"{image_stem(image)}{PROJECT_SUFFIX}"


def fallback_for_image(image: Path) -> Path:
    """The per-user project folder for an image whose own folder is read-only."""
    digest = hashlib.sha1(str(image.resolve()).encode("utf-8")).hexdigest()[:12]
    return user_data_dir() / "projects" / f"{image_stem(image)}-{digest}"


def unique_name(folder: Path, stem: str, suffix: str, taken: set[str]) -> str:
    """`stem + suffix`, or `stem-2 + suffix`, ... not in `taken` and not existing in folder."""
    n = 1
    while True:
        name = f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}"
        if name not in taken and not (folder / name).exists():
            return name
        n += 1


def copy_file(source: Path, target: Path) -> None:
    """Copy `source` to `target` atomically (the target's folder is created)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def subfolder_inside(folder: Path, name: str) -> Path | None:
    """folder/name if it is a real folder (not a symlink) inside `folder`; else None."""
    path = Path(folder) / name
    if path.is_symlink() or not path.is_dir():
        return None
    root = os.path.realpath(folder)
    return path if os.path.dirname(os.path.realpath(path)) == root else None


def remove_stale_temp_files(folder: Path) -> None:
    """Remove temporaries that killed saves left in a project folder and its labels/ and
    models/ (only real subfolders: never through a symlink out of the project)."""
    subfolders = [folder / name for name in (LABELS_DIR, MODELS_DIR) if subfolder_inside(folder, name)]
    for sub in [folder, *subfolders]:
        remove_left_temporaries(sub)
