"""LabelVolume: the labels a user paints on one image, with classes, undo/redo and events.

`data` is a uint8 array shaped like the image stack without C (axes e.g. "YX", "ZYX",
"TZYX"): 0 = unlabeled, k = classes[k - 1]. Planes are addressed by (t, z), 0 when that axis
is absent; pixel positions (y, x) may be floats (mouse positions), pixel i covering
[i, i + 1). Boxes are (y0, y1, x0, x1) with y1 and x1 exclusive.

Threads: edits happen on one thread (the GUI's) and are not locked. Other threads (the
trainer, the autosaver) may read `data` at any time; they must copy what they need
(`np.array(labels.data[...])`) and use `version` to notice changes. A copy taken during a
stroke may hold part of it, which is harmless: the next version has the rest.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from unet_studio.core.errors import LabelsError
from unet_studio.core.label_class_edits import ClassEditsMixin
from unet_studio.core.label_classes import DEFAULT_CLASSES, MAX_CLASSES, LabelClass
from unet_studio.core.label_file import check_axes, read_labels, write_labels
from unet_studio.core.label_history import ClassesChange, History, PlaneChange, Relabel, StrokeRecorder
from unet_studio.core.label_painting import Box, PaintingMixin

ChangeCallback = Callable[[int, int, Box], None]

__all__ = ["DEFAULT_CLASSES", "LabelClass", "LabelVolume"]


class LabelVolume(ClassEditsMixin, PaintingMixin):
    """Painted labels of one image (see module docstring)."""

    def __init__(
        self,
        shape: tuple[int, ...],
        axes: str = "YX",
        classes: list[LabelClass] | None = None,
        history: int = 100,
        *,
        data: np.ndarray | None = None,
    ):
        """shape: label shape (the stack's shape without C); axes: e.g. "ZYX".

        data: optional initial uint8 array of `shape` (taken over, not copied).
        history: how many undo steps are kept (oldest dropped first).
        """
        shape = tuple(int(n) for n in shape)
        self.axes = check_axes(axes, len(shape))
        if any(n < 1 for n in shape):
            raise LabelsError(f"labels need a non-empty shape, not {shape}")
        if data is None:
            data = np.zeros(shape, dtype=np.uint8)
        elif data.shape != shape or data.dtype != np.uint8:
            raise LabelsError(f"label data must be uint8 of shape {shape}")
        self.data: np.ndarray = data
        classes = list(DEFAULT_CLASSES if classes is None else classes)
        if not 1 <= len(classes) <= MAX_CLASSES:
            raise LabelsError(f"labels need 1 to {MAX_CLASSES} classes")
        self._classes = classes
        self.version = 0
        self._history = History(history)
        self._recorder = StrokeRecorder()
        self._stroke_depth = 0
        self._change_callbacks: list[ChangeCallback] = []
        self._classes_callbacks: list[Callable[[], None]] = []

    # ---- construction -------------------------------------------------------------
    @classmethod
    def for_stack(cls, stack, **kwargs) -> "LabelVolume":
        """Empty labels matching a `Stack` (its label_shape / label_axes)."""
        return cls(tuple(stack.label_shape), stack.label_axes, **kwargs)

    @classmethod
    def load(
        cls, path: str | Path, expect_shape: tuple[int, ...] | None = None, **kwargs
    ) -> "LabelVolume":
        """Labels saved by `save` (or any integer mask TIFF). Raises LabelsError.

        expect_shape: the image's label shape; a file that does not fit raises LabelsError.
        """
        data, axes, classes = read_labels(path, expect_shape)
        return cls(data.shape, axes, classes, data=data, **kwargs)

    def save(self, path: str | Path) -> None:
        """Write to a TIFF atomically, class names and colours included. Raises LabelsError."""
        data, axes, classes = self.snapshot()
        write_labels(path, data, axes, classes)

    def snapshot(self) -> tuple[np.ndarray, str, list[LabelClass]]:
        """(copy of data, axes, classes): safe to write from another thread."""
        return self.data.copy(), self.axes, list(self._classes)

    # ---- shape -----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def n_t(self) -> int:
        return self.data.shape[0] if "T" in self.axes else 1

    @property
    def n_z(self) -> int:
        return self.data.shape[self.axes.index("Z")] if "Z" in self.axes else 1

    @property
    def plane_shape(self) -> tuple[int, int]:
        return self.data.shape[-2], self.data.shape[-1]

    def plane_view(self, t: int = 0, z: int = 0) -> np.ndarray:
        """The (Y, X) plane (t, z) as a view into `data` (writes go through, unrecorded)."""
        if not (0 <= t < self.n_t and 0 <= z < self.n_z):
            raise IndexError(f"plane (t={t}, z={z}) is outside labels with {self.n_t} t and {self.n_z} z")
        index = (t,) if "T" in self.axes else ()
        index += (z,) if "Z" in self.axes else ()
        return self.data[index]

    def planes(self) -> Iterator[tuple[int, int]]:
        """Every (t, z) plane index."""
        for t in range(self.n_t):
            for z in range(self.n_z):
                yield t, z

    def labeled_planes(self) -> list[tuple[int, int]]:
        """The (t, z) planes holding at least one labeled pixel."""
        return [(t, z) for t, z in self.planes() if self.plane_view(t, z).any()]

    def labeled_count(self) -> np.ndarray:
        """Pixels per value, shape (K + 1,): index 0 unlabeled, index k class k."""
        counts = np.bincount(self.data.ravel(), minlength=len(self._classes) + 1)
        return counts[: len(self._classes) + 1]

    # ---- classes ---------------------------------------------------------------------
    @property
    def classes(self) -> list[LabelClass]:
        """A copy of the class list; class k (1-based value) is classes[k - 1]."""
        return list(self._classes)

    @property
    def n_classes(self) -> int:
        return len(self._classes)

    # ---- painting --------------------------------------------------------------------
    def begin_stroke(self) -> None:
        """Start grouping edits: everything until end_stroke() is one undo step."""
        self._stroke_depth += 1

    def end_stroke(self) -> None:
        """Finish the stroke (if any) and record it as one undo step."""
        if self._stroke_depth == 0:
            return
        self._stroke_depth -= 1
        if self._stroke_depth == 0:
            step = self._recorder.finish(self.plane_view)
            if step:
                self._history.push(step)

    @property
    def in_stroke(self) -> bool:
        return self._stroke_depth > 0

    @contextmanager
    def stroke(self) -> Iterator["LabelVolume"]:
        """`with labels.stroke(): ...` groups the paint calls inside into one undo step."""
        self.begin_stroke()
        try:
            yield self
        finally:
            self.end_stroke()

    # ---- undo / redo -----------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self._history.can_undo or self._stroke_depth > 0

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    @property
    def history_nbytes(self) -> int:
        """Memory held by the undo/redo history (pixel values and indices)."""
        return self._history.nbytes

    def undo(self) -> bool:
        """Undo the last step (an open stroke is ended first). False if nothing to undo."""
        while self._stroke_depth:
            self.end_stroke()
        step = self._history.take_undo()
        if step is None:
            return False
        for action in reversed(step):
            self._apply(action, forward=False)
        return True

    def redo(self) -> bool:
        """Redo the last undone step. False if nothing to redo."""
        step = self._history.take_redo()
        if step is None:
            return False
        for action in step:
            self._apply(action, forward=True)
        return True

    # ---- events ----------------------------------------------------------------------
    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call `callback(t, z, (y0, y1, x0, x1))` after pixels change; returns a disconnector."""
        self._change_callbacks.append(callback)
        return lambda: self._change_callbacks.remove(callback)

    def on_classes_changed(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` after the class list changes; returns a disconnector."""
        self._classes_callbacks.append(callback)
        return lambda: self._classes_callbacks.remove(callback)

    # ---- internals -------------------------------------------------------------------
    def _check_class(self, k: int) -> None:
        if not 1 <= int(k) <= len(self._classes):
            raise LabelsError(f"class {k} does not exist (there are {len(self._classes)} classes)")

    def _after_relabel(self) -> None:
        h, w = self.plane_shape
        for t, z in self.planes():
            self._changed(t, z, (0, h, 0, w))

    def _apply(self, action, forward: bool) -> None:
        if isinstance(action, PlaneChange):
            action.apply(self.plane_view(action.t, action.z), forward)
            self.version += 1
            self._changed(action.t, action.z, action.box)
        elif isinstance(action, Relabel):
            action.apply(self.data, forward)
            self.version += 1
            self._after_relabel()
        elif isinstance(action, ClassesChange):
            self._classes = list(action.after if forward else action.before)
            self.version += 1
            self._emit_classes()

    def _changed(self, t: int, z: int, box: Box) -> None:
        for callback in list(self._change_callbacks):
            callback(t, z, box)

    def _emit_classes(self) -> None:
        for callback in list(self._classes_callbacks):
            callback()

