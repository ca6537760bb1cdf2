"""Opening an image file, off the GUI thread: the stack, empty labels and display levels.

`load_image` is the generator a worker runs; it yields one `LoadedImage`. Reading a big stack's
metadata and measuring its contrast can take seconds, so it never runs on the GUI thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from unet_studio.core.labels import LabelVolume
from unet_studio.core.stack import Stack, open_stack
from unet_studio.gui.display import auto_levels, is_rgb, sample_planes


@dataclass
class LoadedImage:
    stack: Stack
    labels: LabelVolume
    levels: list[tuple[float, float]]   # display levels per channel


def measure_levels(stack: Stack) -> list[tuple[float, float]]:
    """Automatic contrast per channel; colour pictures keep their own 0-255 range."""
    if is_rgb(stack.dtype, stack.n_c):
        return [(0.0, 255.0)] * stack.n_c
    planes = [stack.plane(t, z) for t, z in sample_planes(stack.n_t, stack.n_z)]
    return auto_levels(planes)


def prepare(stack: Stack, labels: LabelVolume | None = None) -> LoadedImage:
    """Everything the window needs to show `stack` (new empty labels unless given)."""
    if labels is None:
        labels = LabelVolume.for_stack(stack)
    return LoadedImage(stack, labels, measure_levels(stack))


def load_image(path: str | Path) -> Iterator[LoadedImage]:
    """Open `path` (raises StackError with a one-line reason) and yield it ready to show."""
    stack = open_stack(path)
    try:
        loaded = prepare(stack)
    except BaseException:
        stack.close()
        raise
    yield loaded
