"""Helpers for GUI tests: open in-memory images, drive the mouse on the canvas."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, Qt

from unet_studio.core.stack import Stack
from unet_studio.workflow.loaded_image import prepare

if TYPE_CHECKING:
    from unet_studio.gui.window.main_window import MainWindow

# A tiny, fast network for training tests: results are checked, not quality.
TINY_TRAINING = {"width": 4, "depth": 2, "patch": 32, "batch": 2, "augment": False,
                 "elastic": False, "preview_every": 0.0, "report_every": 0.0, "seed": 0,
                 "device": "cpu"}


def show_array(window: MainWindow, data: np.ndarray, axes: str, **meta):
    """Open an in-memory stack in `window` (synchronously) and return the document."""
    meta.setdefault("name", "synthetic.tif")
    return window.show_image(prepare(Stack.from_array(data, axes, **meta)))


def widget_pos(canvas, y: float, x: float):
    """Viewport position of the centre of image pixel (y, x)."""
    scene = canvas.image_layer.mapToScene(QPointF(x + 0.5, y + 0.5))
    return canvas.mapFromScene(scene)


def drag(qtbot, canvas, points: list[tuple[int, int]], button=Qt.MouseButton.LeftButton):
    """Press at the first pixel, move through the others, release at the last."""
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, button, pos=widget_pos(canvas, *points[0]))
    for y, x in points[1:]:
        qtbot.mouseMove(viewport, widget_pos(canvas, y, x))
    qtbot.mouseRelease(viewport, button, pos=widget_pos(canvas, *points[-1]))


def blobs_image(shape=(64, 64), seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy image of bright discs and its truth (True inside the discs)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    truth = np.zeros(shape, bool)
    for cy, cx in [(16, 16), (16, 46), (46, 30), (48, 52)]:
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 8 ** 2
    image = (truth * 150 + 40 + rng.normal(0, 10, shape)).clip(0, 255).astype(np.uint8)
    return image, truth


def write_image(path, seed=0, shape=(64, 64)):
    """A blobs image saved as a TIFF file; returns the array."""
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    image = blobs_image(shape, seed)[0]
    tifffile.imwrite(path, image)
    return image


def wait_idle(qtbot, window, timeout=60_000):
    """Until no worker runs (opening, counting, loading a model, training) and what they
    sent has arrived."""
    qtbot.waitUntil(lambda: window.pool.idle, timeout=timeout)


def wait_showing(qtbot, window, name: str, timeout=60_000):
    """Until the window shows the image file called `name` and its workers are done."""
    qtbot.waitUntil(lambda: window.document is not None and window.document.name == name
                    and window.pool.idle, timeout=timeout)
    return window.document
