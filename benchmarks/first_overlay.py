"""Train -> a useful overlay, in the real window: how many seconds after Train the live preview
of the plane on screen scores at least the forest's F1 on the same strokes.

    QT_QPA_PLATFORM=xcb xvfb-run -a .venv/bin/python benchmarks/first_overlay.py --data ../shared/data \
        --tasks isbi dsb halo --seeds 0 1 [--seconds 20] [--share leave-one]

What runs, per task and seed: the window opens the task's first training image (the ISBI stack,
the first scribbled DSB image, the first halo image) with its scribbles as its labels, the
background PyTorch import is awaited, the first scribbled plane is shown and Train pressed. Every preview the window receives is scored against the truth of that plane
(foreground F1 of the task's object class, on the previewed region); the forest (100 trees,
ilastik's features, quality_tasks.py) is fitted to the same strokes and scored on the same plane.
The user paints nothing meanwhile. Reported: each preview's time and F1, the first time the
preview matched the forest, and the F1 of what the window shows after Stop (the kept model's
prediction: one view, then the mean of the views exports use).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_tasks import DEFAULT_DATA, TASKS, fit_forest, forest_predict  # noqa: E402


def f1(mask: np.ndarray, truth: np.ndarray, k: int) -> float:
    p, t = mask == k, truth == k
    tp = int((p & t).sum())
    return 2 * tp / max(2 * tp + int((p & ~t).sum()) + int((~p & t).sum()), 1)


def shown_first(task):
    """(image as opened, its scribbles, its truth, the (t, z) shown: the first scribbled plane)."""
    image, labels, truth = task.train_images[0], task.train_labels[0], task.train_truth[0]
    if image.ndim == 3:
        z = int(np.flatnonzero(labels.reshape(len(labels), -1).any(1))[0])
        return image, labels, truth, z
    return image, labels, truth, 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tasks", nargs="+", default=["isbi", "dsb", "halo"], choices=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="training time per run")
    parser.add_argument("--after", type=float, default=8.0,
                        help="seconds to wait after Stop for the kept model's prediction")
    parser.add_argument("--share", choices=("app", "leave-one"), default="app",
                        help="the app's way of sharing the cores, or one thread fewer (gui_stall.py)")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="unet_studio-overlay-")
    app = QApplication(sys.argv[:1])
    from unet_studio.core.labels import LabelVolume
    from unet_studio.core.stack import Stack
    from unet_studio.gui.app import configure_pyqtgraph, start_torch_warm_up
    from unet_studio.gui.training.live_training import leave_a_core_for_the_window
    from unet_studio.gui.window.main_window import MainWindow
    from unet_studio.workflow.loaded_image import prepare

    def wait(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.002)

    configure_pyqtgraph()
    warm_up = start_torch_warm_up()
    print(f"{'task':6} {'seed':>4} {'forest':>6}  previews (s after Train (step): F1)  -> first at or above the forest")
    for name in args.tasks:
        task = TASKS[name](args.data)
        image, scribbles, truth, z = shown_first(task)
        k = task.object_class
        alone = dataclasses.replace(task, train_images=[image], train_labels=[scribbles])
        for seed in args.seeds:
            forest = fit_forest(alone, seed=seed)
            forest_f1 = f1(forest_predict(forest, image[z] if image.ndim == 3 else image),
                           truth[z] if truth.ndim == 3 else truth, k)
            window = MainWindow(QSettings(os.path.join(tempfile.mkdtemp(), "overlay.ini"),
                                          QSettings.Format.IniFormat))
            window.resize(1440, 900)
            window.show()
            axes = "ZYX" if image.ndim == 3 else "YX"
            strokes = LabelVolume(scribbles.shape, axes, data=scribbles.astype(np.uint8))
            window.show_image(prepare(Stack.from_array(image, axes, name=f"{name}.tif"), strokes))
            document = window.document
            document.set_plane(0, z)
            while warm_up.is_alive():
                wait(0.05)
            if args.share == "leave-one":
                window.training.share_cores = leave_a_core_for_the_window
            window.training.config_options = {"seed": seed}
            plane_truth = truth[z] if truth.ndim == 3 else truth
            scores: list[tuple[float, float, str]] = []   # (s after Train, F1, step)
            put = document.put_prediction
            started = [0.0]

            def scored_put(t, zz, probabilities, mask, uncertainty, region=None, boundary=None, put=put,
                           scores=scores, plane_truth=plane_truth, k=k, zs=z):
                if zz == zs:
                    y0, y1, x0, x1 = region if region is not None else (0, len(plane_truth), 0,
                                                                        plane_truth.shape[1])
                    scores.append((time.perf_counter() - started[0], f1(mask, plane_truth[y0:y1, x0:x1], k),
                                   window.training_panel.step.text()))
                put(t, zz, probabilities, mask, uncertainty, region, boundary)

            document.put_prediction = scored_put
            started[0] = time.perf_counter()
            window.training.start()
            wait(args.seconds)
            window.training.stop()
            while window.training.running:
                wait(0.05)
            during = len(scores)
            wait(args.after)   # the kept model's answer for the shown plane: one view, then all
            kept = scores[during:]
            window.saved_labels_version = document.labels.version   # no "unsaved labels" question
            window.close()
            window.deleteLater()
            wait(0.2)
            scores = scores[:during]
            first = next((s for s, v, _ in scores if v >= forest_f1), None)
            shown = ", ".join(f"{s:.1f} (step {step}): {v:.3f}" for s, v, step in scores)
            print(f"{name:6} {seed:4d} {forest_f1:6.3f}  {shown}  -> "
                  f"{f'{first:.1f} s' if first is not None else 'not within the run'}; after Stop: "
                  f"{', '.join(f'{v:.3f}' for _, v, _ in kept) or '-'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
