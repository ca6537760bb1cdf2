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
from pathlib import Path

from unet_studio.core.atomic import atomic_path
from unet_studio.core.errors import LabelsError, ProjectError
from unet_studio.core.label_file import write_labels
from unet_studio.core.project_file import PROJECT_FILE, ProjectData, project_document
from unet_studio.core.project_paths import TRAINING_LOG


def export_bundle(project, zip_path: str | Path, *, include_images: bool = False) -> Path:
    """Write the bundle of `project` (a core.project.Project) to `zip_path`, atomically."""
    zip_path = Path(zip_path)
    if zip_path.suffix.lower() != ".zip":
        zip_path = zip_path.with_name(zip_path.name + ".zip")
    current = project.models.current
    loaded = project.loaded_labels()
    data = ProjectData(
        images=project.images,
        classes=project.classes,
        settings=project.settings,
        models=[current] if current is not None else [],
    )
    doc = project_document(project.folder, data)
    if include_images:
        for item, entry in zip(doc["images"], data.images):
            item["path"] = f"images/{entry.id}-{entry.name}"
    try:
        with tempfile.TemporaryDirectory() as scratch, atomic_path(zip_path) as tmp:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(PROJECT_FILE, json.dumps(doc, indent=2, ensure_ascii=False, default=str))
                for entry in data.images:
                    source = project.folder / entry.labels
                    if entry.id in loaded:
                        # Strokes not autosaved yet belong in the bundle too.
                        source = Path(scratch) / f"{entry.id}.tif"
                        write_labels(source, *loaded[entry.id].snapshot())
                    if source.is_file():
                        zf.write(source, entry.labels, compress_type=zipfile.ZIP_STORED)
                    if include_images and entry.path.is_file():
                        zf.write(entry.path, f"images/{entry.id}-{entry.name}")
                log = project.folder / TRAINING_LOG
                if log.is_file():
                    zf.write(log, log.name)
                if current is not None and (project.folder / current.file).is_file():
                    zf.write(project.folder / current.file, current.file, compress_type=zipfile.ZIP_STORED)
    except (OSError, LabelsError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise ProjectError(f"cannot write the bundle {zip_path}: {reason}") from None
    return zip_path
