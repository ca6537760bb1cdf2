"""How fast unet_studio starts: `unet-studio --version`, and launch to first painted window.

    python benchmarks/startup.py                       # offscreen Qt, the installed app
    xvfb-run -a -s "-screen 0 1400x900x24 -noreset" python benchmarks/startup.py --platform xcb
    xvfb-run -a -s "-screen 0 1400x900x24 -noreset" \
        python benchmarks/startup.py --bundle dist/unet-studio/unet-studio

(-noreset: without it Xvfb resets whenever its last client quits, and a launch that
connects during the reset fails with "could not connect to display".)

Targets (issue 7): `--version` under 0.5 s, first window under 1.5 s, with torch imported
only after the window shows, off the GUI thread.

Each run is a fresh process, timed by this (parent) process from just before it starts the
child to the moment it reads the child's report on a pipe, so interpreter start-up and all
imports count. For the window, the child is `python -c BOOTSTRAP`, which wraps
QApplication.exec so that, once the app enters its event loop, an application-wide event
filter reports the first Paint event (the window is on screen), then keeps a 10 ms timer
running until the background torch import has finished, to report when training could start
and the longest the event loop was stalled meanwhile (a thread importing torch holds the GIL).

A PyInstaller bundle (--bundle) cannot take the bootstrap; it is timed from outside on an
X display (run under xvfb-run): until the X server reports its window mapped (xev).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

BOOTSTRAP = r"""
import os, sys, threading, time
from PySide6 import QtCore, QtWidgets

state = {"painted": False, "last": None, "max_gap": 0.0, "t_paint": None}

def report(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

def torch_ready():
    warming = [t for t in threading.enumerate() if "torch" in t.name and t.is_alive()]
    return "torch" in sys.modules and not warming

class FirstPaint(QtCore.QObject):
    def eventFilter(self, obj, event):
        if not state["painted"] and event.type() == QtCore.QEvent.Type.Paint:
            state["painted"] = True
            state["t_paint"] = time.perf_counter()
            report("painted %d" % ("torch" in sys.modules))
            QtCore.QTimer.singleShot(0, start_probe)
        return False

def start_probe():
    timer = QtCore.QTimer(QtWidgets.QApplication.instance())
    timer.setInterval(10)
    def tick():
        now = time.perf_counter()
        if state["last"] is not None:
            state["max_gap"] = max(state["max_gap"], now - state["last"])
        state["last"] = now
        waited = now - state["t_paint"]
        if torch_ready() or waited > float(os.environ.get("STARTUP_TORCH_WAIT", "60")):
            timer.stop()
            report("torch %s %.4f %.4f" % ("ready" if torch_ready() else "timeout",
                                           waited, state["max_gap"]))
            QtWidgets.QApplication.instance().quit()
    timer.timeout.connect(tick)
    timer.start()

_exec = QtWidgets.QApplication.exec
_filter = FirstPaint()

def exec_with_probe(app, *args):
    app.installEventFilter(_filter)
    return _exec()  # QApplication.exec is a static method in PySide6

QtWidgets.QApplication.exec = exec_with_probe
from unet_studio.cli import main
sys.exit(main(sys.argv[1:]))
"""


def time_version(command: list[str], runs: int) -> list[float]:
    """Seconds for `command --version` to exit, one per run."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([*command, "--version"], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0 or "unet-studio" not in done.stdout:
            raise SystemExit(f"--version failed: {done.stdout}{done.stderr}")
    return times


def time_window(python: str, files: list[str], platform: str, timeout: float) -> dict:
    """One launch of the app in a child Python; seconds to first paint and to torch ready."""
    env = dict(os.environ, QT_QPA_PLATFORM=platform)
    start = time.perf_counter()
    child = subprocess.Popen([python, "-c", BOOTSTRAP, *files], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    result: dict = {}
    try:
        for line in child.stdout:
            now = time.perf_counter() - start
            if line.startswith("painted"):
                result["window_s"] = now
                result["torch_loaded_at_first_paint"] = line.split()[1] == "1"
            elif line.startswith("torch"):
                _, status, after_paint, gap = line.split()
                result["torch_" + status + "_s"] = result.get("window_s", 0.0) + float(after_paint)
                result["max_stall_during_torch_import_s"] = float(gap)
            if now > timeout:
                break
        child.wait(timeout=max(1.0, timeout))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if "window_s" not in result:
        raise SystemExit(f"the window never painted; app said:\n{child.stderr.read()[-2000:]}")
    return result


def time_bundle_window(executable: str, files: list[str], timeout: float) -> float:
    """Seconds from starting a bundled app to its window being mapped on the X display."""
    if not os.environ.get("DISPLAY") or not shutil.which("xev"):
        raise SystemExit("--bundle needs an X display and xev (xvfb-run -a ..., apt install x11-utils)")
    # One xev connection reports every window mapped on the screen as it happens
    # (polling with xdotool is coarse, and floods a busy Xvfb with connections).
    watcher = subprocess.Popen(["xev", "-root", "-event", "substructure"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    mapped: queue.Queue[float] = queue.Queue()

    def watch() -> None:
        for line in watcher.stdout:
            if line.startswith("MapNotify"):
                mapped.put(time.perf_counter())
            elif "unable to open display" in line:
                mapped.put(-1.0)

    threading.Thread(target=watch, daemon=True).start()
    time.sleep(1.0)  # let xev subscribe before the app starts
    log = tempfile.TemporaryFile(mode="w+")
    start = time.perf_counter()
    child = subprocess.Popen([executable, *files], stdout=log, stderr=subprocess.STDOUT,
                             env=dict(os.environ, QT_QPA_PLATFORM="xcb"))
    try:
        while True:
            try:
                when = mapped.get(timeout=0.1)
            except queue.Empty:
                pass
            else:
                if when < 0:
                    raise SystemExit("xev could not connect to the X display")
                return when - start
            if child.poll() is not None:
                log.seek(0)
                raise SystemExit(f"the bundled app exited with code {child.returncode}:\n"
                                 f"{log.read()[-2000:]}")
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"no window was mapped within {timeout:.0f} s")
    finally:
        for process in (child, watcher):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s, min {min(values):.3f} s, max {max(values):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="launches of each kind (default 5)")
    parser.add_argument("--platform", default="offscreen", help="QT_QPA_PLATFORM for the window runs")
    parser.add_argument("--bundle", metavar="EXECUTABLE",
                        help="time this unet-studio executable from outside instead (the PyInstaller "
                             "bundle, or any installed unet-studio); needs an X display")
    parser.add_argument("--sample", action="store_true", help="open the sample image at launch")
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()

    files = []
    if args.sample:
        from unet_studio.resources import sample_image_path

        files = [str(sample_image_path())]
    if args.bundle:
        command = [str(Path(args.bundle).resolve())]
    else:
        script = Path(sys.executable).with_name("unet-studio")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "unet_studio"]
    print(f"command: {' '.join(command)}   cores: {len(os.sched_getaffinity(0))}")

    version = time_version(command, args.runs)
    print(f"--version          : {summary(version)}   (target < 0.5 s)")
    report: dict = {"command": command, "version_s": version}
    if args.bundle:
        windows = [time_bundle_window(command[0], files, args.timeout) for _ in range(args.runs)]
        print(f"window mapped      : {summary(windows)}   (target < 1.5 s)")
        report["window_s"] = windows
    else:
        runs = [time_window(sys.executable, files, args.platform, args.timeout) for _ in range(args.runs)]
        windows = [r["window_s"] for r in runs]
        print(f"first paint        : {summary(windows)}   (target < 1.5 s, QT_QPA_PLATFORM={args.platform})")
        ready = [r["torch_ready_s"] for r in runs if "torch_ready_s" in r]
        if ready:
            print(f"torch ready        : {summary(ready)}   (background import finished)")
            stalls = [r["max_stall_during_torch_import_s"] for r in runs]
            print(f"longest GUI stall while torch imports: {summary(stalls)}")
        if any(r.get("torch_loaded_at_first_paint") for r in runs):
            print("WARNING: torch was already imported when the window first painted")
        report["runs"] = runs
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
