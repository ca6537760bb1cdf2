"""Make docs/screenshot.png: the real app on the sample, painted and trained like a user would.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        python -m unet_studio.gui.screenshot docs/screenshot.png --seconds 90

It opens the bundled nuclei sample, paints short strokes inside some nuclei and long strokes on
the background with mouse events (the same path a user's mouse takes), trains with the app's
default settings for `--seconds` (in two runs: the first is kept in the Models list) while the
window keeps running, and saves the window. The
strokes are placed from a simple threshold of the image: they stand for a user's clicks.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def _strokes(image: np.ndarray) -> tuple[list[list[tuple[int, int]]], list[list[tuple[int, int]]]]:
    """(object strokes, background strokes) as lists of (y, x) points."""
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    bright = image > threshold_otsu(image)
    inside = ndimage.binary_erosion(bright, iterations=4)
    objects, n = ndimage.label(bright)
    sizes = ndimage.sum(bright, objects, range(1, n + 1))
    object_strokes = []
    for i in np.argsort(-sizes)[:20:2]:
        ys, xs = np.nonzero(inside & (objects == i + 1))
        if len(ys) < 10:
            continue
        cy, cx = int(np.median(ys)), int(np.median(xs))
        points = [p for p in ((cy, cx - 4), (cy + 1, cx), (cy, cx + 4)) if inside[p]]
        if points:
            object_strokes.append(points)
    far = ndimage.distance_transform_edt(~bright) > 12
    background_strokes = []
    for y in range(30, image.shape[0], 90):
        xs = np.nonzero(far[y])[0]
        if len(xs) < 30:
            continue
        run = max(np.split(xs, np.nonzero(np.diff(xs) > 1)[0] + 1), key=len)
        if len(run) > 30:
            background_strokes.append([(y, int(run[5])), (y, int(run[len(run) // 2])), (y, int(run[-5]))])
    return object_strokes, background_strokes


class _Run:
    """The app on screen, driven like a user: `wait` keeps it running, `stroke` drags the mouse."""

    def __init__(self, size: str):
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from unet_studio.gui.app import _icon, configure_pyqtgraph
        from unet_studio.gui.garbage import collect_garbage_in_gui_thread
        from unet_studio.gui.window.main_window import MainWindow

        # The sample's labels are kept in a per-user folder: use a fresh one, so strokes from an
        # earlier run do not appear in this shot.
        os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="unet_studio-shot-")
        self.app = QApplication(sys.argv[:1])
        self.collector = collect_garbage_in_gui_thread(self.app)
        configure_pyqtgraph()
        self.app.setWindowIcon(_icon())
        settings_file = tempfile.NamedTemporaryFile(suffix=".ini", delete=False)  # not the user's recent files
        self.window = MainWindow(QSettings(settings_file.name, QSettings.Format.IniFormat))
        width, height = (int(v) for v in size.lower().split("x"))
        self.window.resize(width, height)
        self.window.show()

    def wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.005)

    def position(self, y: float, x: float):
        from PySide6.QtCore import QPointF

        canvas = self.window.canvas
        return canvas.mapFromScene(canvas.image_layer.mapToScene(QPointF(x + 0.5, y + 0.5)))

    def stroke(self, points) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        viewport, left, plain = self.window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        QTest.mousePress(viewport, left, plain, self.position(*points[0]))
        for point in points[1:]:
            QTest.mouseMove(viewport, self.position(*point))
            self.wait(0.02)
        QTest.mouseRelease(viewport, left, plain, self.position(*points[-1]))

    def train(self, seconds: float, then_stop: bool) -> None:
        training = self.window.training
        training.start()
        self.wait(seconds)
        if then_stop:
            training.stop()
            while training.running or not self.window.pool.idle:
                self.wait(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Save a screenshot of unet_studio at work.")
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--seconds", type=float, default=90.0, help="training time before the shot")
    parser.add_argument("--size", default="1440x900", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args(argv)

    from PySide6.QtTest import QTest

    from unet_studio.gui.app import start_torch_warm_up
    from unet_studio.resources import sample_image_path

    run = _Run(args.size)
    window = run.window
    warm_up = start_torch_warm_up(run.collector)
    window.open_files([str(sample_image_path())])
    while window.document is None:
        run.wait(0.05)
    object_strokes, background_strokes = _strokes(window.document.plane()[0].astype(float))
    for k, brush, strokes in ((2, 5, object_strokes), (1, 7, background_strokes)):
        window.classes_panel.select(k)
        window.tools.set_brush_size(brush)
        for points in strokes:
            run.stroke(points)
    while warm_up.is_alive():
        run.wait(0.1)
    # Two runs, as a user stops to look and goes on: the first is kept in the Models list,
    # the second continues from it and is running when the shot is taken.
    run.train(args.seconds * 0.6, then_stop=True)
    run.train(args.seconds * 0.4, then_stop=False)
    # Leave the cursor over a nucleus so the status bar shows what it reads there.
    y, x = object_strokes[0][0]
    QTest.mouseMove(window.canvas.viewport(), run.position(y, x + 12))
    run.wait(0.3)
    window.grab().save(args.out)
    print(f"saved {args.out}: step {window.training_panel.step.text()}, "
          f"loss {window.training_panel.loss.text()}, {window.training_panel.speed.text()}")
    window.training.stop()
    while window.training.running:
        run.wait(0.1)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
