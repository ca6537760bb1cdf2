"""The open image as the window shows it: core objects plus where the user is looking.

Holds the `Stack`, its `LabelVolume`, the current model and predictions (all core/ml objects)
and the view position: plane (t, z), channel, contrast levels. Widgets are built from it and
listen to its signals; none of them keeps its own copy of this state.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from unet_studio.workflow.display import RGB_COLORS, composite, is_rgb
from unet_studio.gui.viewer.predictions import PredictionStore

COMPOSITE = -1  # `channel` value meaning "all channels in colour"


class ShownImage:
    """Which ImageDocument the window shows (None: the start view or an empty project).

    The main window sets `document`; controllers that act on the image shown are given this
    holder instead of the window."""

    def __init__(self):
        self.document: ImageDocument | None = None


class ImageDocument(QObject):
    """One open image. Signals: plane_changed(t, z), display_changed() (channel or levels),
    predictions_changed(), model_changed()."""

    plane_changed = Signal(int, int)
    display_changed = Signal()
    predictions_changed = Signal()
    model_changed = Signal()

    def __init__(self, stack, labels, levels: list[tuple[float, float]], parent=None):
        super().__init__(parent)
        self.stack = stack
        self.labels = labels
        self.auto_levels = list(levels)
        self.levels = list(levels)
        self.t = 0
        self.z = max(0, stack.n_z // 2) if stack.n_z > 1 else 0  # the middle slice shows most
        self.channel = COMPOSITE if stack.n_c > 1 else 0
        self.model = None            # ml Model (a copy safe to use from any thread) or None
        self.predictions = PredictionStore(stack.plane_shape)
        self._plane_cache: tuple[tuple[int, int], np.ndarray] | None = None
        labels.on_classes_changed(self._name_the_models_classes)

    @property
    def name(self) -> str:
        return self.stack.name or (self.stack.path.name if self.stack.path else "untitled")

    # ---- position ------------------------------------------------------------------------
    def set_plane(self, t: int, z: int) -> None:
        t = int(min(max(t, 0), self.stack.n_t - 1))
        z = int(min(max(z, 0), self.stack.n_z - 1))
        if (t, z) != (self.t, self.z):
            self.t, self.z = t, z
            self.plane_changed.emit(t, z)

    def step_z(self, delta: int) -> None:
        self.set_plane(self.t, self.z + delta)

    def step_t(self, delta: int) -> None:
        self.set_plane(self.t + delta, self.z)

    # ---- display -------------------------------------------------------------------------
    def set_channel(self, channel: int) -> None:
        if channel != self.channel:
            self.channel = channel
            self.display_changed.emit()

    def set_levels(self, channel: int, levels: tuple[float, float]) -> None:
        """Explicit contrast for one channel (kept while moving through the stack)."""
        lo, hi = float(levels[0]), float(levels[1])
        if (lo, hi) != self.levels[channel]:
            self.levels[channel] = (lo, hi)
            if self.channel == COMPOSITE:
                self.display_changed.emit()

    def reset_levels(self) -> None:
        """Back to the automatic (percentile) contrast of every channel."""
        self.levels = list(self.auto_levels)
        self.display_changed.emit()

    def plane(self) -> np.ndarray:
        """The shown plane (C, Y, X), read once per plane change."""
        key = (self.t, self.z)
        if self._plane_cache is None or self._plane_cache[0] != key:
            self._plane_cache = (key, self.stack.plane(self.t, self.z))
        return self._plane_cache[1]

    def display_image(self) -> tuple[np.ndarray, tuple[float, float] | None]:
        """(image, levels): (Y, X) with its channel's levels, or (Y, X, 3) uint8 and None."""
        plane = self.plane()
        if self.channel == COMPOSITE:
            rgb = is_rgb(self.stack.dtype, plane.shape[0])
            channels = plane[:3] if rgb else plane
            return composite(channels, self.levels, RGB_COLORS if rgb else None), None
        return plane[self.channel], self.levels[self.channel]

    def value_at(self, y: int, x: int) -> tuple | None:
        """Pixel values (one per channel) at (y, x) of the shown plane, or None outside."""
        plane = self.plane()
        if 0 <= y < plane.shape[1] and 0 <= x < plane.shape[2]:
            return tuple(plane[:, y, x].tolist())
        return None

    # ---- model and predictions -----------------------------------------------------------
    def set_model(self, model) -> None:
        self.model = model
        self._name_the_models_classes()
        self.model_changed.emit()

    @property
    def model_fits_classes(self) -> bool:
        """Whether the model knows as many classes as the image has (not so after one was added
        or removed since it was trained)."""
        return self.model is not None and self.model.n_classes == len(self.labels.classes)

    def _name_the_models_classes(self) -> None:
        """The model's classes are called (and coloured) as the image's are now, so its exports
        and saved copies carry a rename made after training. (The list is replaced whole: a
        worker reading the old one keeps reading it.)"""
        if self.model_fits_classes:
            self.model.classes = [dict(c, name=k.name, color=list(k.color))
                                  for c, k in zip(self.model.classes, self.labels.classes)]

    def reads(self, model) -> bool:
        """Whether `model` reads this image (the same number of channels)."""
        return model.in_channels == self.stack.n_c

    def offer_model(self, model) -> bool:
        """Use the project's `model` if it reads this image (a project's model is given only to
        its images it can predict); whether it does."""
        if not self.reads(model):
            return False
        if self.model is not model:
            self.set_model(model)
        return True

    def forget_model(self) -> None:
        """No model shown: its predictions go with it (the next training starts a new one)."""
        self.predictions.clear()
        self.set_model(None)
        self.predictions_changed.emit()

    def put_prediction(self, t: int, z: int, probabilities, mask, uncertainty, region=None,
                       boundary=None) -> None:
        self.predictions.put_plane(t, z, probabilities, mask, uncertainty, region, boundary)
        self.predictions_changed.emit()

    def put_stack_prediction(self, stack_prediction) -> None:
        self.predictions.put_stack(stack_prediction)
        self.predictions_changed.emit()

    def close(self) -> None:
        self.stack.close()
