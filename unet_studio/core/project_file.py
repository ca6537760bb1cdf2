"""project.json: what a project folder holds, in a form people can read and diff.

{
  "format": "unet_studio project", "version": 1, "created": "2025-01-31T10:00:00+01:00",
  "images": [{"id": "1", "path": "../cells.tif", "absolute": "/data/cells.tif",
              "labels": "labels/cells.tif"}],
  "classes": [{"name": "background", "color": [96, 128, 176]}, ...],
  "settings": {...},
  "models": [{"id": "20250131-101500", "file": "models/20250131-101500.pt",
              "time": "...", "steps": 500, "loss": 0.12, "current": true, "info": {}}]
}
Images are stored relative to the project folder (so a folder moved together with its images
still works) and absolute (so a project folder moved alone still finds them). An image that is
one scene of a file of several (a CZI's wells) also has "scene" (from 0).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from unet_studio.core.atomic import atomic_write_bytes
from unet_studio.core.errors import LabelsError, ProjectError
from unet_studio.core.label_classes import LabelClass, classes_from_json, classes_to_json
from unet_studio.core.stack import open_stack, scene_name, scene_stem

FORMAT = "unet_studio project"
VERSION = 1
PROJECT_FILE = "project.json"
# Far deeper than any project needs, and far from Python's recursion limit, so whatever is
# read can be written back (json.dumps recurses too).
MAX_NESTING = 64


def now_text() -> str:
    """Local time with its UTC offset, e.g. 2025-01-31T10:00:00+01:00."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class ImageEntry:
    """One image of a project: `path` is absolute; `labels` is relative to the folder; of a file
    of several scenes (wells, positions of a CZI), `scene` is which (from 0; None: a file of one)."""

    id: str
    path: Path
    labels: str
    scene: int | None = None

    @property
    def name(self) -> str:
        """In the user's words: `cells.tif`, `plate.czi, scene 3`."""
        return scene_name(self.path, self.scene)

    @property
    def stem(self) -> str:
        """What its files are named after: `cells`, `plate_scene3`."""
        return scene_stem(self.path, self.scene)

    def open(self):
        """The image's Stack (core/stack.py); StackError where it cannot be read."""
        return open_stack(self.path, self.scene or 0)

    @property
    def missing(self) -> bool:
        return not self.path.exists()


@dataclass
class ModelEntry:
    """One trained model kept in models/: `file` is relative to the project folder."""

    id: str
    file: str
    time: str
    steps: int | None = None
    loss: float | None = None
    current: bool = False
    info: dict = field(default_factory=dict)


@dataclass
class ProjectData:
    images: list[ImageEntry] = field(default_factory=list)
    classes: list[LabelClass] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    models: list[ModelEntry] = field(default_factory=list)
    created: str = field(default_factory=now_text)


def relative_text(path: Path, folder: Path) -> str:
    """`path` relative to `folder` with forward slashes, or absolute across drives."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # Windows: another drive has no relative path
        return path.as_posix()


def write_project_file(folder: Path, data: ProjectData) -> None:
    """Write folder/project.json atomically (OSError if the folder cannot be written)."""
    text = json.dumps(project_document(folder, data), indent=2, ensure_ascii=False, default=str)
    atomic_write_bytes(folder / PROJECT_FILE, (text + "\n").encode("utf-8"))


def project_document(folder: Path, data: ProjectData) -> dict:
    """The JSON-able content of project.json for a project in `folder`."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": data.created,
        "saved": now_text(),
        "images": [
            {
                "id": e.id,
                "path": relative_text(e.path, folder),
                "absolute": str(e.path),
                "labels": e.labels,
                **({} if e.scene is None else {"scene": e.scene}),
            }
            for e in data.images
        ],
        "classes": classes_to_json(data.classes),
        "settings": data.settings,
        "models": [
            {
                "id": m.id,
                "file": m.file,
                "time": m.time,
                "steps": m.steps,
                "loss": m.loss,
                "current": m.current,
                "info": m.info,
            }
            for m in data.models
        ],
    }


def read_project_file(folder: Path) -> ProjectData:
    """Read folder/project.json; ProjectError with one line if missing or damaged."""
    path = folder / PROJECT_FILE
    if not path.is_file():
        raise ProjectError(f"{folder} is not a unet_studio project (it has no {PROJECT_FILE})")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ProjectError(f"{path} cannot be read: {_first_line(e)}") from None
    except RecursionError:
        too_deep = True
    else:
        too_deep = _nesting(doc) > MAX_NESTING
    if too_deep:
        raise ProjectError(f"{path} is damaged (its contents are nested more than "
                           f"{MAX_NESTING} levels deep)")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProjectError(f"{path} is not a unet_studio project file")
    if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
        raise ProjectError(f"{path} was written by a newer unet_studio; please update")
    try:
        return ProjectData(
            images=[_image_from(item, folder) for item in doc.get("images", [])],
            classes=classes_from_json(doc["classes"]),
            settings=dict(doc.get("settings") or {}),
            models=[_model_from(item) for item in doc.get("models", [])],
            created=str(doc.get("created", "")),
        )
    except (KeyError, TypeError, ValueError, AttributeError, LabelsError) as e:
        raise ProjectError(f"{path} is damaged ({_first_line(e)})") from None


def _image_from(item: dict, folder: Path) -> ImageEntry:
    relative = folder / item["path"]
    absolute = Path(item.get("absolute") or relative)
    # The relative path wins when both exist: the folder and its images moved together.
    path = relative if relative.exists() or not absolute.exists() else absolute
    scene = item.get("scene")
    if scene is not None and (not isinstance(scene, int) or isinstance(scene, bool) or scene < 0):
        raise ValueError(f"image {item['id']}: scene {scene!r} is not a scene number")
    return ImageEntry(id=str(item["id"]), path=Path(os.path.abspath(path)), labels=str(item["labels"]),
                      scene=scene)


def _model_from(item: dict) -> ModelEntry:
    loss = item.get("loss")
    steps = item.get("steps")
    return ModelEntry(
        id=str(item["id"]),
        file=str(item["file"]),
        time=str(item.get("time", "")),
        steps=None if steps is None else int(steps),
        loss=None if loss is None else float(loss),
        current=bool(item.get("current", False)),
        info=dict(item.get("info") or {}),
    )


def _nesting(doc) -> int:
    """How deep lists and objects nest in `doc` (counted without recursion)."""
    deepest, todo = 0, [(doc, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                todo.extend((item, depth + 1) for item in value)
    return deepest


def _first_line(e: BaseException) -> str:
    text = str(e)
    return text.splitlines()[0] if text else type(e).__name__


def is_project_folder(path: str | Path) -> bool:
    """A project's folder, or its project.json (what a user may pick or drop to open it)."""
    path = Path(path)
    return (path / PROJECT_FILE).is_file() or (path.name == PROJECT_FILE and path.is_file())
