"""The project of an image opened on its own, without File > New project.

It is created on the first save (the first stroke), so merely looking at an image leaves no
trace; opening the same image again finds it, with its strokes.
"""
from __future__ import annotations

import os
from pathlib import Path

from unet_studio.core.project import Project
from unet_studio.core.project_file import PROJECT_FILE
from unet_studio.core.project_paths import beside_image, fallback_for_image, folder_is_writable


def project_for_image(image_path: str | Path, *, beside: bool = True) -> Project:
    """The project of an image opened on its own (not yet written if it is new).

    It is "<stem>.unet_studio/" beside the image, or, if the image's folder is read-only, a
    per-user folder (explained in `project.note`). Opening the same image again finds it.
    beside=False: always the per-user folder (e.g. for a sample image shipped with the app,
    whose folder belongs to the installation)."""
    image = Path(os.path.abspath(image_path))
    fallback = fallback_for_image(image)
    own_folder = beside_image(image) if beside else None
    for folder in (own_folder, fallback):
        if folder is None:
            continue
        if (folder / PROJECT_FILE).is_file():
            project = Project.open(folder)
            if project.find_image(image) is None:
                missing = [e for e in project.missing_images() if e.path.name == image.name]
                if missing:
                    project.relocate(missing[0], image)
                else:
                    project.add_image(image)
            return project
    if own_folder is not None and folder_is_writable(image.parent):
        project = Project(own_folder)
    else:
        project = Project(fallback)
        if own_folder is not None:
            project.note = (
                f"The folder of {image.name} is read-only, so its labels are kept in {fallback}"
            )
    project.add_image(image)
    return project
