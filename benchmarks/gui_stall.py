"""Event-loop stalls of the real window while training runs and the user paints.

A 10 ms QTimer records the gap between its ticks on the GUI thread; a gap much longer than
10 ms is a moment when painting, zooming or moving through slices would feel stuck. The goal
(issue 4) is every gap under 50 ms while training.

    python benchmarks/gui_stall.py                       # the sample image, 30 s of training
    python benchmarks/gui_stall.py --size 2048 --seconds 60
    QT_QPA_PLATFORM=xcb xvfb-run -a python benchmarks/gui_stall.py   # with a real X server
    python benchmarks/gui_stall.py --busy 1 [--share leave-one]   # another program keeps a core busy

What runs: the window opens the image, a few strokes of both classes are painted with mouse
events, the background PyTorch import is awaited (it is a one-off start-up cost, reported
separately), then training starts with the app's default settings while a timer keeps
painting a stroke (a mouse move every 30 ms), as a user correcting labels would. A watchdog
thread names what the GUI thread was doing during each long gap.
"""
from __future__ import annotations

import argparse
import atexit
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="training time to probe")
    parser.add_argument("--size", type=int, default=0, help="synthetic square image of this size "
                                                             "instead of the sample")
    parser.add_argument("--threshold-ms", type=float, default=50.0)
    parser.add_argument("--share", choices=("app", "leave-one", "all"), default="app",
                        help="how training shares the cores with the window: the app's way (Linux: "
                             "every free core at a lower priority), one thread fewer than there are "
                             "cores at the usual priority, or every core at the usual priority")
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="run N CPU-bound processes beside the app while it trains "
                             "(a browser, a compile: what a laptop also does)")
    parser.add_argument("--idle", action="store_true", help="no painting while training")
    parser.add_argument("--minimised", action="store_true",
                        help="the window minimised while it trains (no previews; implies --idle)")
    parser.add_argument("--objects", action="store_true",
                        help="the objects shown on the image while it trains (found from the previews)")
    parser.add_argument("--events", action="store_true",
                        help="time every Qt event the GUI thread handles and name those over half the "
                             "threshold (what the watchdog cannot see: time spent inside Qt)")
    parser.add_argument("--cli", action="store_true",
                        help="then train as long with `unet-studio train` on the strokes painted "
                             "before Train, and compare the steps")
    args = parser.parse_args()

    from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    # The sample's strokes and models live in a per-user folder (XDG on Linux): a fresh one,
    # so this run neither adds to the user's own sample project nor starts from its strokes.
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="unet_studio-stall-")
    slow_events: list[tuple[float, float, str]] = []   # (time, seconds, what)
    app = (_timed_application(QApplication, args.threshold_ms / 2000, slow_events) if args.events
           else QApplication)(sys.argv[:1])
    from unet_studio.gui.garbage import collect_garbage_in_gui_thread
    collector = collect_garbage_in_gui_thread(app)   # as the app does (gui/app.py)
    from unet_studio.core.stack import Stack
    from unet_studio.gui.app import configure_pyqtgraph, start_torch_warm_up
    from unet_studio.workflow.loaded_image import prepare
    from unet_studio.gui.window.main_window import MainWindow

    configure_pyqtgraph()
    settings = QSettings(os.path.join(os.environ.get("TMPDIR", "/tmp"), "gui_stall.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1440, 900)
    window.show()

    def wait(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.002)

    # ---- the probe -------------------------------------------------------------------------
    gaps: list[tuple[float, float]] = []   # (time since start, gap in s)
    last = [time.perf_counter()]
    main_thread = threading.main_thread().ident
    culprits: list[str] = []
    start = time.perf_counter()

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - start, now - last[0]))
        last[0] = now

    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(10)
    probe.timeout.connect(tick)
    probe.start()
    warm_up = start_torch_warm_up(collector)
    warm_up_started = time.perf_counter()

    stop_watchdog = threading.Event()

    def watchdog() -> None:
        # Runs whenever it gets the GIL: if the GUI thread has not ticked for a while, note
        # where it is (the innermost project or library frame).
        while not stop_watchdog.wait(0.005):
            if time.perf_counter() - last[0] > args.threshold_ms / 1000 * 0.8:
                frames = sys._current_frames()
                frame = frames.get(main_thread)
                if frame is not None:
                    culprits.append(where(frame))
                    # The GUI thread may be waiting for the GIL: where the training thread is.
                    trainers = training_threads()
                    training = [f for ident, f in frames.items() if ident in trainers]
                    if training:
                        culprits.append(f"(training thread: {where(training[0])})")
                    mine = threading.get_ident()
                    culprits.extend(f"(other thread: {where(f)})" for ident, f in frames.items()
                                    if ident not in trainers and ident not in (main_thread, mine)
                                    and "objects" in where(f))
                time.sleep(args.threshold_ms / 1000)

    def where(frame) -> str:
        stack = traceback.extract_stack(frame)[-4:]
        return " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(stack))

    def training_threads() -> set:
        return {t.ident for t in threading.enumerate() if t.name.startswith("training")} | \
            {ident for ident, f in sys._current_frames().items()
             if any(s.name == "training_run" for s in traceback.extract_stack(f))}

    # ---- the image and strokes ----------------------------------------------------------
    if args.size:
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[: args.size, : args.size]
        image = (rng.normal(30, 5, (args.size, args.size))
                 + 120 * ((np.sin(yy / 23.0) * np.sin(xx / 19.0)) > 0.6)).clip(0, 255).astype(np.uint8)
        window.show_image(prepare(Stack.from_array(image, "YX", name=f"synthetic {args.size}².tif")))
    else:
        from unet_studio.resources import sample_image_path
        window.open_files([str(sample_image_path())])
        while window.document is None:
            wait(0.05)
    document = window.document
    h, w = document.stack.plane_shape
    canvas, viewport = window.canvas, window.canvas.viewport()

    def pos(y: float, x: float):
        return canvas.mapFromScene(canvas.image_layer.mapToScene(QPointF(x + 0.5, y + 0.5)))

    plane = document.plane()[0]
    bright = plane > np.percentile(plane, 90)
    ys, xs = np.nonzero(bright)
    window.tools.set_brush_size(5)
    for k, (y, x) in ((2, p) for p in list(zip(ys, xs))[:: max(1, len(ys) // 8)][:8]):
        window.classes_panel.select(k)
        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(y, x))
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(y, x))
    dark = np.argwhere(plane < np.percentile(plane, 20))[:: max(1, (plane < np.percentile(plane, 20)).sum() // 8)][:8]
    window.classes_panel.select(1)
    for y, x in dark:
        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(y, x))
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(y, x))

    while warm_up.is_alive():
        wait(0.05)
    warm_up_s = time.perf_counter() - warm_up_started
    warm_up_gaps = np.array([g for _, g in gaps[3:]]) * 1000

    # ---- train while painting -------------------------------------------------------------
    painter = QTimer()
    path_state = {"i": 0, "down": False}

    def paint_step() -> None:
        # A slow zig-zag of background strokes along the top rows, 60 moves per stroke.
        i = path_state["i"]
        y = 3 + (i // 60) % max(1, h // 8)
        x = 3 + (i % 60) * (w - 6) / 60
        if not path_state["down"]:
            window.classes_panel.select(1)
            QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(y, x))
            path_state["down"] = True
        else:
            QTest.mouseMove(viewport, pos(y, x))
        if i % 60 == 59:
            QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(y, x))
            path_state["down"] = False
        path_state["i"] = i + 1

    painter.timeout.connect(paint_step)
    painter.setInterval(30)
    training_started = time.perf_counter() - start
    if args.share != "app":
        from unet_studio.gui.training.live_training import leave_a_core_for_the_window
        from unet_studio.ml.device import use_cpu_cores
        window.training.share_cores = (leave_a_core_for_the_window if args.share == "leave-one"
                                       else use_cpu_cores)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    atexit.register(lambda: [process.kill() for process in busy])   # also if this script fails
    strokes, shown = document.labels.data.copy(), document.stack.plane(0, 0)
    if args.minimised:
        args.idle = True
        window.showMinimized()
    found = [0]
    if args.objects:
        window.objects_panel.show_objects_box.setChecked(True)
        window.objects_panel.model.modelReset.connect(lambda: found.__setitem__(0, found[0] + 1))
    window.training.start()
    gaps.clear()
    last[0] = time.perf_counter()
    probe.start()
    if not args.idle:
        painter.start()
    watcher = threading.Thread(target=watchdog, daemon=True)
    watcher.start()
    wait(args.seconds)
    probe.stop()
    painter.stop()
    stop_watchdog.set()
    steps = window.training_panel.step.text()
    speed = window.training_panel.speed.text()
    device = window.training_panel.device.text()
    window.training.stop()
    for process in busy:
        process.kill()
    while window.training.running:
        wait(0.05)
    window.saved_labels_version = document.labels.version  # no "unsaved labels" question
    window.close()

    values = np.array([g for _, g in gaps[3:]]) * 1000
    late = [(t - training_started, g * 1000) for t, g in gaps[3:] if g * 1000 > args.threshold_ms]
    print(f"image {w}x{h}, trained {args.seconds:.0f} s on {device}"
          f"{f' beside {args.busy} busy process(es)' if args.busy else ''}: step {steps}, {speed}; "
          f"strokes painted during training: {path_state['i']} mouse events"
          + (f"; objects found {found[0]} times" if args.objects else ""))
    print(f"start-up: torch import + warm-up training in a background thread took {warm_up_s:.1f} s; "
          f"event-loop gaps meanwhile (opening the image, painting): p99 "
          f"{np.percentile(warm_up_gaps, 99):.1f} ms, max {warm_up_gaps.max():.1f} ms")
    print(f"event-loop gaps (10 ms timer, n={len(values)}): median {np.median(values):.1f} ms, "
          f"p99 {np.percentile(values, 99):.1f} ms, max {values.max():.1f} ms; "
          f"{len(late)} over {args.threshold_ms:.0f} ms")
    for t, g in late[:10]:
        print(f"  {g:6.1f} ms at {t:5.1f} s after Train")
    for c in sorted(set(culprits))[:10]:
        print(f"  GUI thread during a long gap: {c}")
    for t, seconds, what in slow_events:
        print(f"  Qt event of {seconds * 1000:6.1f} ms at {t - start - training_started:6.1f} s after Train: {what}")
    if args.cli:
        cli_steps = _cli_steps(shown, strokes, args.seconds)
        print(f"the command line on the same strokes: step {cli_steps} in {args.seconds:.0f} s; "
              f"the app's steps are {int(steps) / max(cli_steps, 1):.0%} of its")
    return 0 if not late else 1


def _timed_application(base, slowest: float, slow: list):
    """A QApplication class that notes, in `slow`, each event it dispatches that takes over
    `slowest` seconds: (when, seconds, receiver and event type; nested events count in their
    parents' time too)."""
    class TimedApplication(base):
        def notify(self, receiver, event):
            started = time.perf_counter()
            try:
                return super().notify(receiver, event)
            finally:
                took = time.perf_counter() - started
                if took > slowest:
                    parent = receiver.parent() if hasattr(receiver, "parent") else None
                    slow.append((started, took, f"{type(receiver).__name__} in {type(parent).__name__}, "
                                                f"{event.type().name}"))
    return TimedApplication


def _cli_steps(plane: np.ndarray, strokes: np.ndarray, seconds: float) -> int:
    """Steps `unet-studio train` makes in `seconds` on `plane` and `strokes`."""
    import re

    import tifffile

    folder = tempfile.mkdtemp(prefix="unet_studio-stall-cli-")
    image, labels = os.path.join(folder, "image.tif"), os.path.join(folder, "labels.tif")
    tifffile.imwrite(image, plane)
    tifffile.imwrite(labels, strokes.reshape(strokes.shape[-2:]))
    done = subprocess.run([sys.executable, "-m", "unet_studio", "train", image, "--labels", labels,
                           "--out", os.path.join(folder, "model.pt"), "--time", str(seconds)],
                          capture_output=True, text=True, check=True)
    return int(re.search(r"trained (\d+) steps", done.stdout + done.stderr).group(1))


if __name__ == "__main__":
    sys.exit(main())
