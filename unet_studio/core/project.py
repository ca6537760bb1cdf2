"""A project: a folder keeping images, their labels, trained models and settings together.

    my-project/
      project.json           images (relative paths), classes, settings, model history
      labels/<image>.tif     one LabelVolume per image (see core/label_file.py)
      models/<time>.pt       every trained model; one is marked current, none deleted
      training-log.jsonl     one JSON record per line, append-only

Every file is written atomically, so a crash leaves the old or the new version of each file.
core/image_project.py gives the project used for an image opened on its own. One unet_studio
at a time changes a project (core/project_lock.py): opened while another holds it, it is
read-only, and saving raises ProjectError (Save As keeps the changes elsewhere).

Threads: `save_labels` may run on an autosave thread while the GUI thread calls the other
methods; project state is guarded by a lock and label writes are serialised.
"""
from __future__ import annotations

import os
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from unet_studio.core import project_lock
from unet_studio.core.errors import LabelsError, ProjectError, UnetStudioError
from unet_studio.core.label_classes import DEFAULT_CLASSES, LabelClass
from unet_studio.core.label_file import peek_labels_shape, write_labels
from unet_studio.core.labels import LabelVolume
from unet_studio.core.model_history import ModelHistory, ProjectModelsMixin
from unet_studio.core.project_classes import ProjectClassesMixin
from unet_studio.core.project_labels import ProjectLabelsMixin
from unet_studio.core.project_file import (
    PROJECT_FILE,
    ImageEntry,
    ProjectData,
    read_project_file,
    write_project_file,
)
from unet_studio.core.project_paths import (
    LABELS_DIR,
    TRAINING_LOG,
    folder_is_writable,
    remove_stale_temp_files,
    unique_name,
)
from unet_studio.core.project_safety import (
    check_project_paths,
    copy_own_file,
    inside_project,
)


class Project(ProjectClassesMixin, ProjectLabelsMixin, ProjectModelsMixin):
    """A project folder (see module docstring). Use create / open (or core.image_project).

    Class edits (add_class, rename_class, set_class_color, remove_class) go through the
    project so every image keeps the same classes (see core/project_classes.py); each
    image's labels are loaded and written by core/project_labels.py; models and the training
    log are in core/model_history.py."""

    def __init__(self, folder: str | Path, data: ProjectData | None = None):
        """An in-memory project for `folder`; nothing is written until the first save."""
        self.folder = Path(os.path.abspath(folder))
        self._data = data or ProjectData(classes=list(DEFAULT_CLASSES))
        self.models = ModelHistory(self._data.models)
        self.exists = (self.folder / PROJECT_FILE).is_file()
        self.read_only = False
        self.open_elsewhere: str | None = None   # who else holds it (read-only here), in words
        self.recovered_models: list = []         # models listed again on opening (recover_unlisted_models)
        self._hold: weakref.finalize | None = None   # lets go of the project (core/project_lock.py)
        self.problems: list[str] = []  # one-line messages about what could not be loaded
        self.note = ""  # e.g. why the project is not beside its image
        self._labels: dict[str, LabelVolume] = {}
        self._saved_version: dict[str, int] = {}
        self._state_lock = threading.RLock()
        self._write_lock = threading.RLock()

    # ---- create / open / save ----------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path) -> "Project":
        """A new empty project written to `folder` (created if needed)."""
        project = cls(folder)
        if project.exists:
            raise ProjectError(f"{project.folder} already holds a project; open it instead")
        project.save()
        return project

    @classmethod
    def open(cls, folder: str | Path) -> "Project":
        """Open an existing project. Missing images, read-only folders and paths that lead
        out of the folder (repaired, see core/project_safety.py) are reported in `problems`
        (and `missing_images()`), not raised; a damaged project.json raises."""
        folder = Path(os.path.abspath(folder))
        if folder.is_file() and folder.name == PROJECT_FILE:
            folder = folder.parent
        data = read_project_file(folder)
        problems = check_project_paths(folder, data)
        project = cls(folder, data)
        project.problems += problems
        for entry in project.missing_images():
            project.problems.append(f"image {entry.name} is missing (expected at {entry.path})")
        writable = folder_is_writable(folder)
        holder = project._hold_folder(folder) if writable else None
        if not writable:
            project.read_only = True
            project.problems.append(f"the folder {folder} is read-only: use Save As to keep changes")
        elif holder is not None:
            project.read_only, project.open_elsewhere = True, holder
            project.problems.append(f"the project is open in {holder}: it is read-only here, "
                                    "use Save As to keep changes")
        else:
            remove_stale_temp_files(folder)
            recovered = project.recovered_models = project.recover_unlisted_models()
            if recovered:
                project.problems.append(f"{len(recovered)} model(s) in models/ that the project did not list "
                                        "are back in the Models list")
            if problems or recovered:  # keep the repaired paths, so later label saves find them again
                project._write_project_json()
        return project

    @property
    def name(self) -> str:
        return self.folder.name

    def ensure_created(self) -> None:
        """Write the folder and project.json if this project is not on disk yet."""
        with self._state_lock:
            if not self.exists:
                self._write_project_json()

    def save_settings(self) -> None:
        """Write project.json (settings, images, classes, models) if the project is on disk
        already; a project not written yet stays so (see ensure_created). ProjectError."""
        with self._state_lock:
            self._save_structure()

    def save(self) -> None:
        """Write project.json and every loaded label volume that changed. ProjectError."""
        with self._write_lock:
            for image_id, labels in list(self._labels.items()):
                try:
                    self._write_labels(image_id, labels)
                except LabelsError as e:
                    raise ProjectError(f"{e}; use Save As to save the project elsewhere") from None
            with self._state_lock:
                self._write_project_json()

    def save_as(self, folder: str | Path) -> None:
        """Copy the whole project (labels, models, log) to a new empty folder and continue
        there. The old folder is left as it was. ProjectError if that is impossible."""
        new = Path(os.path.abspath(folder))
        if (new / PROJECT_FILE).exists():
            raise ProjectError(f"{new} already holds a project; choose an empty folder")
        if new.exists() and (not new.is_dir() or any(new.iterdir())):
            raise ProjectError(f"{new} is not an empty folder; choose an empty folder")
        with self._write_lock, self._state_lock, self._saving(new, "the project"):
            (new / LABELS_DIR).mkdir(parents=True, exist_ok=True)
            for entry in self._data.images:
                target = inside_project(new, entry.labels, f"the labels of {entry.name}")
                if entry.id in self._labels:
                    write_labels(target, *self._labels[entry.id].snapshot())
                else:
                    copy_own_file(self.folder, new, entry.labels, f"the labels of {entry.name}")
            for model in self.models:
                copy_own_file(self.folder, new, model.file, f"model {model.id}")
            copy_own_file(self.folder, new, TRAINING_LOG, "the training log")
            write_project_file(new, self._snapshot_data())
            if (holder := self._hold_folder(new)) is not None:
                raise ProjectError(f"{new} was just opened in {holder}; choose another folder")
            self.folder, self.exists, self.read_only, self.open_elsewhere = new, True, False, None
            self._saved_version = {i: v.version for i, v in self._labels.items()}

    # ---- images --------------------------------------------------------------------------
    @property
    def images(self) -> list[ImageEntry]:
        return list(self._data.images)

    def image(self, image: "ImageEntry | str") -> ImageEntry:
        """The entry for an entry or an image id."""
        image_id = image.id if isinstance(image, ImageEntry) else str(image)
        for entry in self._data.images:
            if entry.id == image_id:
                return entry
        raise ProjectError(f"there is no image {image_id!r} in this project")

    def find_image(self, path: str | Path, scene: int = 0) -> ImageEntry | None:
        """The entry of the image file at `path` (of a file of several scenes, scene `scene`), if
        it is in the project."""
        target = Path(os.path.abspath(path))
        return next((e for e in self._data.images if e.path == target and (e.scene or 0) == scene), None)

    def add_image(self, path: str | Path, scenes: int | None = None) -> ImageEntry:
        """Add an image file, or return its (first) entry if it is already in the project. A file
        of several scenes gets an entry for each it lacks (`scenes`: how many, where the caller has
        read it); a project from before scenes held only the first, and gains the others here."""
        from unet_studio.core.stack import scenes_in

        path = Path(os.path.abspath(path))
        if not path.exists():
            raise ProjectError(f"{path} does not exist")
        with self._state_lock:
            held = [e for e in self._data.images if e.path == path]
            if held and (self.read_only or len(held) > 1):
                return self.find_image(path)
            try:
                scenes = scenes_in(path) if scenes is None else scenes
            except UnetStudioError as e:
                if held:
                    return held[0]
                raise ProjectError(str(e)) from None
            if held and scenes > 1 and held[0].scene is None:
                held[0].scene = 0  # its labels keep their file
            have = {e.scene or 0 for e in held}
            added = [s for s in (range(scenes) if scenes > 1 else [None]) if (s or 0) not in have]
            for scene in added:
                ids = [int(e.id) for e in self._data.images if e.id.isdigit()]
                taken = {e.labels.split("/")[-1] for e in self._data.images}
                entry = ImageEntry(str(max(ids, default=0) + 1), path, "", scene)
                entry.labels = f"{LABELS_DIR}/{unique_name(self.folder / LABELS_DIR, entry.stem, '.tif', taken)}"
                self._data.images.append(entry)
            if added:
                self._save_structure()
            return self.find_image(path)

    def remove_image(self, image: "ImageEntry | str") -> None:
        """Take an image out of the project; its labels file stays on disk."""
        entry = self.image(image)
        with self._state_lock:
            self._data.images.remove(entry)
            self._labels.pop(entry.id, None)
            self._save_structure()

    def missing_images(self) -> list[ImageEntry]:
        """Images whose file is not where the project expects it."""
        return [e for e in self._data.images if e.missing]

    def relocate(self, image: "ImageEntry | str", new_path: str | Path) -> list[ImageEntry]:
        """Point an image at its new location. Other missing images found under the same
        file names in the new folder are relocated too; returns all relocated entries."""
        entry = self.image(image)
        new_path = Path(os.path.abspath(new_path))
        if not new_path.exists():
            raise ProjectError(f"{new_path} does not exist")
        self._check_fits(entry, new_path)
        with self._state_lock:
            moved = [entry]
            entry.path = new_path
            for other in self.missing_images():
                candidate = new_path.parent / other.path.name
                if candidate.exists():
                    try:
                        self._check_fits(other, candidate)
                    except ProjectError:
                        continue
                    other.path = candidate
                    moved.append(other)
            self.problems = [p for p in self.problems if not any(e.name in p for e in moved)]
            self._save_structure()
            return moved

    # ---- labels --------------------------------------------------------------------------
    @property
    def classes(self) -> list[LabelClass]:
        """The classes every image's labels carry (edit them with the class methods)."""
        return list(self._data.classes)

    @property
    def settings(self) -> dict:
        """Free-form settings (JSON-able), saved in project.json."""
        return self._data.settings

    def export_bundle(self, zip_path: str | Path, *, include_images: bool = False) -> Path:
        """One zip with project.json, labels, training log and the current model."""
        from unet_studio.core.bundle import export_bundle

        return export_bundle(self, zip_path, include_images=include_images)

    # ---- internals -----------------------------------------------------------------------
    def _snapshot_data(self) -> ProjectData:
        self._data.models = self.models.entries
        return self._data

    def _check_fits(self, entry: ImageEntry, image_path: Path) -> None:
        """ProjectError if the image at `image_path` cannot carry the entry's labels."""
        from unet_studio.core.stack import open_stack

        if entry.id in self._labels:
            shape = self._labels[entry.id].shape
        else:
            shape = peek_labels_shape(self.folder / entry.labels)
        if shape is None:
            return
        try:
            with open_stack(image_path, entry.scene or 0) as stack:
                fits = tuple(stack.label_shape) == tuple(shape)
        except UnetStudioError as e:
            raise ProjectError(str(e)) from None
        if not fits:
            raise ProjectError(f"{image_path.name} has another size than the labels of {entry.name}")

    def _write_project_json(self) -> None:
        with self._saving(self.folder, "the project"):
            (self.folder / LABELS_DIR).mkdir(parents=True, exist_ok=True)
            if self._hold is None and (holder := self._hold_folder(self.folder)) is not None:
                raise ProjectError(f"cannot save the project in {self.folder}: it was just opened in {holder}")
            write_project_file(self.folder, self._snapshot_data())
        self.exists = True

    def _hold_folder(self, folder: Path) -> str | None:
        """Hold the project in `folder` (core/project_lock.py) until close() or until this Project
        is gone, and the folder held before no more: None where it now does, else who does. A
        folder that takes no new file holds nothing: saving will say so."""
        try:
            holder = project_lock.claim(folder)
        except OSError:
            return None
        if holder is None:
            self.close()
            self._hold = weakref.finalize(self, project_lock.release, folder)
        return holder

    def close(self) -> None:
        """Hold the project no more: another unet_studio may change it (core/project_lock.py)."""
        if self._hold is not None:
            self._hold()
            self._hold = None

    def _save_structure(self) -> None:
        # Structural changes (images, models) are saved at once if the project is on disk;
        # a project not created yet is written in full on its first save.
        if self.exists:
            self._write_project_json()

    def _may_save(self, folder: Path, what: str) -> None:
        """ProjectError where another unet_studio holds this project (core/project_lock.py)."""
        if self.open_elsewhere and folder == self.folder:
            raise ProjectError(f"cannot save {what} in {folder}: the project is open in "
                               f"{self.open_elsewhere}; use Save As")

    @contextmanager
    def _saving(self, folder: Path, what: str) -> Iterator[None]:
        self._may_save(folder, what)
        try:
            yield
        except OSError as e:
            reason = e.strerror or str(e)
            raise ProjectError(f"cannot save {what} in {folder}: {reason}; use Save As") from None
        except LabelsError as e:
            raise ProjectError(f"{e}; use Save As") from None
