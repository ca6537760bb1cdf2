"""What the window needs to show a stack: the stack, its labels and display levels.

Measuring the contrast of a big stack can take seconds, so it runs in a worker (images of a
project are opened by opening.py; in-memory stacks, e.g. in tests, use `prepare`).
"""
from __future__ import annotations

from dataclasses import dataclass

from unet_studio.core.labels import LabelVolume
from unet_studio.core.stack import Stack
from unet_studio.workflow.display import auto_levels, is_rgb, sample_planes


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
