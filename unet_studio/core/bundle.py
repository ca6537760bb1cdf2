"""Reproducibility bundle: one zip with what is needed to redo or check a result.

    bundle.zip/
      project.json          as in the project, model history reduced to the current model
      labels/<image>.tif    every image's labels (unsaved strokes included)
      training-log.jsonl
      models/<time>.pt      the current model
      images/<name>         only with include_images=True (project.json then points there)
"""
from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

from unet_studio.core.atomic import atomic_path
from unet_studio.core.errors import LabelsError, ProjectError
from unet_studio.core.label_file import write_labels
from unet_studio.core.project_file import PROJECT_FILE, ProjectData, project_document
from unet_studio.core.project_paths import LABELS_DIR, TRAINING_LOG
from unet_studio.core.project_safety import inside_project, safe_relative


def export_bundle(project, zip_path: str | Path, *, include_images: bool = False) -> Path:
    """Write the bundle of `project` (a core.project.Project) to `zip_path`, atomically.

    Only the project's own files go in (a path leading out of its folder is left out), and
    every name in the zip is a plain relative one (no "..", no absolute names)."""
    zip_path = Path(zip_path)
    if zip_path.suffix.lower() != ".zip":
        zip_path = zip_path.with_name(zip_path.name + ".zip")
    current = project.models.current
    data = ProjectData(
        images=[replace(e) for e in project.images],
        classes=project.classes,
        settings=project.settings,
        models=[replace(current)] if current is not None else [],
    )
    try:
        with tempfile.TemporaryDirectory() as scratch, atomic_path(zip_path) as tmp:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                files = _bundle_files(project, data, Path(scratch), include_images)
                doc = project_document(project.folder, data)
                if include_images:
                    for item, entry in zip(doc["images"], data.images):
                        item["path"] = _image_name(entry, data.images)
                zf.writestr(PROJECT_FILE, json.dumps(doc, indent=2, ensure_ascii=False, default=str))
                for source, name, stored in files:
                    zf.write(source, name, compress_type=zipfile.ZIP_STORED if stored else None)
    except (OSError, LabelsError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise ProjectError(f"cannot write the bundle {zip_path}: {reason}") from None
    return zip_path


def _bundle_files(project, data: ProjectData, scratch: Path, include_images: bool) -> list:
    """[(source path, name in the zip, store uncompressed)]; `data` gets the zip's names."""
    loaded = project.loaded_labels()
    files = []
    for entry in data.images:
        name = safe_relative(entry.labels) or f"{LABELS_DIR}/{entry.id}.tif"
        source = _own_file(project.folder, entry.labels)
        if entry.id in loaded:
            # Strokes not autosaved yet belong in the bundle too.
            source = scratch / f"{entry.id}.tif"
            write_labels(source, *loaded[entry.id].snapshot())
        entry.labels = name
        if source is not None:
            files.append((source, name, True))
        image = (entry.path, _image_name(entry, data.images), False)
        if include_images and entry.path.is_file() and image not in files:   # once for all its scenes
            files.append(image)
    log = _own_file(project.folder, TRAINING_LOG)
    if log is not None:
        files.append((log, TRAINING_LOG, False))
    for model in data.models:
        source = _own_file(project.folder, model.file)
        if source is None:
            data.models.remove(model)
            break
        model.file = safe_relative(model.file)
        files.append((source, model.file, True))
    return files


def _own_file(folder: Path, relative: str) -> Path | None:
    """folder/relative if it is a file inside the project folder; None otherwise."""
    try:
        path = inside_project(folder, relative, "a file")
    except ProjectError:
        return None
    return path if path.is_file() else None


def _image_name(entry, images) -> str:
    """The image file's name in the bundle: the same for every scene of one file."""
    first = next(e for e in images if e.path == entry.path)
    return f"images/{safe_relative(f'{first.id}-{entry.path.name}'.replace('/', '_')) or first.id}"
