"""One class list for all images of a project.

Training needs the same classes on every image, so class edits go through the project, which
applies them to its list and to every image's labels: those in memory at once, those only
on disk when they are loaded (renames, colours, added classes) or right away (removal, which
renumbers pixels, so the file is rewritten).
"""
from __future__ import annotations

from unet_studio.core.errors import LabelsError, ProjectError
from unet_studio.core.label_classes import MAX_CLASSES, LabelClass, check_color, check_name, pick_color
from unet_studio.core.labels import LabelVolume


def align_classes(labels: LabelVolume, classes: list[LabelClass]) -> list[LabelClass]:
    """Make `labels` carry `classes` (names, colours, count); returns the project list,
    extended by any extra classes the labels had (their pixels must keep a class)."""
    have = labels.classes
    for k, wanted in enumerate(classes[: len(have)], start=1):
        if have[k - 1].name != wanted.name:
            labels.rename_class(k, wanted.name)
        if have[k - 1].color != wanted.color:
            labels.set_color(k, wanted.color)
    for extra in classes[len(have) :]:
        labels.add_class(extra.name, extra.color)
    return list(classes) + have[len(classes) :]


class ProjectClassesMixin:
    """Class edits for Project (uses its _data, _labels, _state_lock, folder, images)."""

    def add_class(self, name: str, color: tuple[int, int, int] | None = None) -> int:
        """Add a class to the project and every image's labels; returns its value k."""
        with self._state_lock:
            classes = self._data.classes
            if len(classes) >= MAX_CLASSES:
                raise LabelsError(f"at most {MAX_CLASSES} classes are possible")
            name = check_name(name)
            color = pick_color([c.color for c in classes]) if color is None else check_color(color)
            classes.append(LabelClass(name, color))
            for labels in self._labels.values():
                labels.add_class(name, color)
            self._save_structure()
            return len(classes)

    def rename_class(self, k: int, name: str) -> None:
        self._edit_class(k, name=check_name(name))

    def set_class_color(self, k: int, color: tuple[int, int, int]) -> None:
        self._edit_class(k, color=check_color(color))

    def remove_class(self, k: int) -> None:
        """Remove class k everywhere: its pixels become unlabeled, higher classes move down
        by one. Labels in memory can undo it; labels files not loaded are rewritten."""
        with self._state_lock:
            self._check_class(k)
            if len(self._data.classes) == 1:
                raise LabelsError("the last class cannot be removed")
            for entry in self.images:
                if entry.id in self._labels:
                    self._labels[entry.id].remove_class(k)
                elif (self.folder / entry.labels).is_file():
                    try:
                        labels = LabelVolume.load(self.folder / entry.labels)
                    except LabelsError as e:  # already damaged: leave it for the user to see
                        self.problems.append(str(e))
                        continue
                    if labels.n_classes >= k:
                        labels.remove_class(k)
                        with self._saving(self.folder, "the labels"):
                            labels.save(self.folder / entry.labels)
            del self._data.classes[k - 1]
            self._save_structure()

    def adopt_classes(self, labels: LabelVolume) -> None:
        """Make the classes of `labels` the project's, after an undo or redo on those labels
        took back or redid a class removal. Possible only while no other image has labels
        (their pixel values cannot follow a class put back in the middle): ProjectError."""
        with self._state_lock:
            classes = labels.classes
            if classes == self._data.classes:
                return
            others = [
                e for e in self.images
                if self._labels.get(e.id) is not labels
                and (e.id in self._labels or (self.folder / e.labels).is_file())
            ]
            if others and len(classes) != len(self._data.classes):
                raise ProjectError(
                    "a class removed from every image of the project cannot be brought back "
                    "by undo; add it again instead"
                )
            for entry in others:
                if entry.id in self._labels:
                    align_classes(self._labels[entry.id], classes)
            self._data.classes = list(classes)
            self._save_structure()

    def _edit_class(self, k: int, name: str | None = None, color=None) -> None:
        with self._state_lock:
            self._check_class(k)
            old = self._data.classes[k - 1]
            self._data.classes[k - 1] = LabelClass(name or old.name, color or old.color)
            for labels in self._labels.values():
                if labels.n_classes >= k:
                    if name is not None:
                        labels.rename_class(k, name)
                    if color is not None:
                        labels.set_color(k, color)
            self._save_structure()

    def _check_class(self, k: int) -> None:
        if not 1 <= int(k) <= len(self._data.classes):
            raise LabelsError(f"class {k} does not exist (there are {len(self._data.classes)} classes)")
