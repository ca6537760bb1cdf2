"""The labels of a project's images: loaded on first use, written when they changed.

A mixin for Project (it uses the project's folder, _data, _labels, _saved_version, the state
and write locks, problems, image(), ensure_created(), _may_save() and _saving()). Labels are
loaded lazily, fitted to the project's class list, and written only when their version moved;
a damaged labels file is kept aside, never overwritten.
"""
from __future__ import annotations

import time
from pathlib import Path

from unet_studio.core.errors import LabelsError, ProjectError
from unet_studio.core.label_file import write_labels
from unet_studio.core.labels import LabelVolume
from unet_studio.core.project_classes import align_classes
from unet_studio.core.project_file import ImageEntry
from unet_studio.core.project_safety import labels_target


class ProjectLabelsMixin:
    """Loading and saving each image's LabelVolume for Project."""

    def labels_path(self, image: "ImageEntry | str") -> Path:
        return self.folder / self.image(image).labels

    def loaded_labels(self) -> dict[str, LabelVolume]:
        """image id -> LabelVolume for the images whose labels are in memory."""
        return dict(self._labels)

    def labels_for(self, image: "ImageEntry | str", stack=None, *, replace_damaged: bool = False) -> LabelVolume:
        """The labels of an image: loaded from labels/ or new and empty.

        stack: the image's open Stack (else it is opened to learn the shape).
        A damaged labels file raises LabelsError (and is noted in `problems`); with
        replace_damaged=True it is renamed to "<name>.damaged-<time>.tif" and new labels begin.
        """
        entry = self.image(image)
        with self._state_lock:
            if entry.id in self._labels:
                return self._labels[entry.id]
        shape, axes = _label_shape_of(entry, stack)
        path = labels_target(self.folder, entry, self._data.images)
        labels = None
        if path.is_file():
            try:
                labels = LabelVolume.load(path, expect_shape=shape)
            except LabelsError as e:
                if not replace_damaged:
                    self.problems.append(str(e))
                    raise
                aside = path.with_name(f"{path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}.tif")
                with self._saving(self.folder, "the labels"):
                    path.rename(aside)
                self.problems.append(f"{path.name} was damaged; it is kept as {aside.name}")
        with self._state_lock:
            if labels is None:
                labels = LabelVolume(shape, axes, classes=self.classes)
            self._saved_version[entry.id] = labels.version
            if entry.id in self._labels:  # loaded meanwhile by another thread
                return self._labels[entry.id]
            classes = align_classes(labels, self._data.classes)
            if classes != self._data.classes:
                # Labels with more classes than the project: every image gets them too.
                for other in self._labels.values():
                    align_classes(other, classes)
                self._data.classes = classes
                self._save_structure()
            self._labels[entry.id] = labels
            return labels

    def save_labels(self, labels: LabelVolume) -> None:
        """Write one volume if it changed since it was last written (any thread).

        Creates the project folder on first use. Raises LabelsError / ProjectError."""
        with self._state_lock:  # the GUI thread may be adding images meanwhile
            image_id = next((i for i, v in self._labels.items() if v is labels), None)
        if image_id is None:
            raise ProjectError("these labels do not belong to this project")
        with self._write_lock:
            self._write_labels(image_id, labels)

    def _write_labels(self, image_id: str, labels: LabelVolume) -> None:
        version = labels.version
        if self._saved_version.get(image_id) == version:
            return  # unchanged since loaded, created empty, or last written
        self._may_save(self.folder, "the labels")
        path = labels_target(self.folder, self.image(image_id), self._data.images)
        self.ensure_created()
        data, axes, classes = labels.snapshot()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_labels(path, data, axes, classes)
        self._saved_version[image_id] = version
        with self._state_lock:
            # A class added to these labels directly: keep it in the project list. The live
            # classes, not the snapshot's: the GUI thread may have removed a class from the
            # project (and these labels) since the snapshot was taken.
            classes = labels.classes
            if len(classes) > len(self._data.classes):
                self._data.classes = self._data.classes + classes[len(self._data.classes) :]
                self._write_project_json()


def _label_shape_of(entry: ImageEntry, stack) -> tuple[tuple[int, ...], str]:
    if stack is not None:
        return tuple(stack.label_shape), stack.label_axes
    if entry.missing:
        raise ProjectError(f"image {entry.name} is missing (expected at {entry.path}); relocate it")
    opened = entry.open()
    try:
        return tuple(opened.label_shape), opened.label_axes
    finally:
        opened.close()
