"""Editing the class list of a LabelVolume: add, rename, recolour, clear, remove.

A mixin beside label_painting.py: labels.py keeps what labels are, this file how the class
list changes. Clearing and removing are one undo step each (removal renumbers the classes
above). It uses the volume's _classes, _history, data, planes(), plane_view, version and its
change and classes events.
"""
from __future__ import annotations

import numpy as np

from unet_studio.core.errors import LabelsError
from unet_studio.core.label_classes import MAX_CLASSES, LabelClass, check_color, check_name, pick_color
from unet_studio.core.label_history import ClassesChange, PlaneChange, Relabel, Step


class ClassEditsMixin:
    """Class list edits for LabelVolume."""

    def add_class(self, name: str, color: tuple[int, int, int] | None = None) -> int:
        """Append a class and return its value k. A distinct colour is picked if none given."""
        if len(self._classes) >= MAX_CLASSES:
            raise LabelsError(f"at most {MAX_CLASSES} classes are possible")
        name = check_name(name)
        color = pick_color([c.color for c in self._classes]) if color is None else check_color(color)
        self._classes.append(LabelClass(name, color))
        self.version += 1
        self._emit_classes()
        return len(self._classes)

    def rename_class(self, k: int, name: str) -> None:
        self._check_class(k)
        self._classes[k - 1] = LabelClass(check_name(name), self._classes[k - 1].color)
        self.version += 1  # so autosave writes the new name
        self._emit_classes()

    def set_color(self, k: int, color: tuple[int, int, int]) -> None:
        self._check_class(k)
        self._classes[k - 1] = LabelClass(self._classes[k - 1].name, check_color(color))
        self.version += 1
        self._emit_classes()

    def clear_class(self, k: int) -> None:
        """Erase every pixel of class k in every plane (one undo step)."""
        self._check_class(k)
        self.end_stroke()
        step = self._erase_value_everywhere(k)
        if step:
            self._history.push(step)

    def remove_class(self, k: int) -> None:
        """Erase class k and renumber the classes above it down by one (one undo step)."""
        self._check_class(k)
        if len(self._classes) == 1:
            raise LabelsError("the last class cannot be removed")
        self.end_stroke()
        step: Step = self._erase_value_everywhere(k)
        forward = np.arange(256, dtype=np.uint8)
        forward[k + 1 :] -= 1
        backward = np.arange(256, dtype=np.uint8)
        backward[k:255] += 1
        relabel = Relabel(forward, backward)
        if (self.data > k).any():
            relabel.apply(self.data, True)
            step.append(relabel)
            self._after_relabel()
        before = tuple(self._classes)
        del self._classes[k - 1]
        step.append(ClassesChange(before, tuple(self._classes)))
        self.version += 1
        self._history.push(step)
        self._emit_classes()

    def _erase_value_everywhere(self, k: int) -> Step:
        step: Step = []
        for t, z in self.planes():
            plane = self.plane_view(t, z)
            ys, xs = np.nonzero(plane == k)
            if len(ys):
                plane[ys, xs] = 0
                step.append(PlaneChange.from_pixels(t, z, plane, ys, xs, np.full(len(ys), k, np.uint8)))
        if step:
            self.version += 1
            for change in step:
                self._changed(change.t, change.z, change.box)
        return step
