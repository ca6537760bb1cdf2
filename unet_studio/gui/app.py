"""Start the desktop application: `unet-studio [FILE...]`.

The window is shown first; files are opened (in a worker) right after, and PyTorch is imported
in a background thread once the window is up, so the first window appears fast and the first
Train click does not wait for the import.
"""
from __future__ import annotations

import sys
import threading
import traceback

from unet_studio import __version__

_excepthook_busy = False


def configure_pyqtgraph() -> None:
    """Once, before any image item exists: numpy (row, column) order, as everywhere else."""
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


def _warm_up_torch(collector=None) -> None:
    """Import torch and run two steps of a tiny training with a preview, in a daemon thread.

    Besides `import torch` (seconds), torch imports some 800 more modules lazily on the first
    optimiser step (torch._dynamo, sympy, ...). Imports hold the GIL, so done during the first
    real training they would make painting stutter; done here, right after the window shows,
    the first Train starts at once and stays smooth. The objects of a tiny mask are found too,
    for the same reason: the Objects panel's first objects import scikit-image's measuring.
    Then what they made, which lives as long as the program, is set aside from the garbage
    collector, and `collector` (gui/garbage.py; paused meanwhile, if given) goes on.
    """
    try:
        import numpy as np

        from unet_studio.gui.training.live_training import leave_a_core_for_the_window
        from unet_studio.ml.train import TrainConfig, train

        leave_a_core_for_the_window()
        image = np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8)
        labels = np.zeros((32, 32), np.uint8)
        labels[:4], labels[-4:] = 1, 2
        config = TrainConfig(steps=2, width=4, depth=2, patch=16, batch=1, device="cpu",
                             preview_every=0.0, seed=0)
        for _ in train([image], [labels], ["a", "b"], config, preview_request=lambda: (0, 0, 0)):
            pass
        from unet_studio.workflow.object_export import plane_objects

        disc = np.hypot(*np.mgrid[-16:16, -16:16]) < 8
        plane_objects(np.where(disc, 2, 1).astype(np.uint8), np.stack([~disc, disc]).astype(np.float32),
                      image[None], 2, class_name="b")
    except Exception:  # the first Train will report any real problem in a dialog
        pass
    finally:
        from unet_studio.gui.garbage import set_aside_what_lives_now

        set_aside_what_lives_now()
        if collector is not None:
            collector.resume()


def start_torch_warm_up(collector=None) -> threading.Thread:
    """The warm-up (_warm_up_torch) in a daemon thread; `collector` (the GUI thread's garbage
    collector) collects nothing until it ends."""
    if collector is not None:
        collector.pause()
    thread = threading.Thread(target=_warm_up_torch, args=(collector,), name="unet_studio-torch-import",
                              daemon=True)
    thread.start()
    return thread


def _install_excepthook(window) -> None:
    """A bug in a slot shows a one-line dialog (and the traceback on stderr), not a crash."""
    from unet_studio.gui.errors import show_error
    from unet_studio.gui.workers import plain_reason

    def hook(kind, error, tb):
        global _excepthook_busy
        traceback.print_exception(kind, error, tb, file=sys.stderr)
        if _excepthook_busy or not isinstance(error, Exception):
            return
        _excepthook_busy = True
        try:
            show_error(window, "Something went wrong", plain_reason(error))
        finally:
            _excepthook_busy = False

    sys.excepthook = hook


def quit_on_signals(window) -> None:
    """SIGTERM (the session ends, the system shuts down, `kill`) and SIGINT (Ctrl+C in the
    terminal) quit the window without questions (MainWindow.quit_without_questions), instead
    of ending the process with a training run's model and the latest strokes unsaved. Python
    runs a signal handler only between its own instructions: while Qt waits, the garbage
    collector's timer (gui/garbage.py, every half second) gives it that chance."""
    import signal

    from PySide6.QtCore import QTimer

    def handle(signum, frame) -> None:
        QTimer.singleShot(0, window.quit_without_questions)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)


def _icon():
    from PySide6.QtGui import QIcon

    try:
        from unet_studio.resources import icon_path

        icon = QIcon(str(icon_path()))
        for size in (16, 32, 48, 64, 128, 256):
            icon.addFile(str(icon_path(size)))
        return icon
    except (ImportError, FileNotFoundError, ValueError):
        return QIcon()


def run(files: list[str]) -> int:
    """Open the main window on `files` (the start view when empty); return the exit code."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("unet_studio")
    app.setOrganizationName("unet_studio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("unet-studio")
    configure_pyqtgraph()
    app.setWindowIcon(_icon())
    from unet_studio.gui.garbage import collect_garbage_in_gui_thread

    collector = collect_garbage_in_gui_thread(app)

    from unet_studio.gui.window.main_window import MainWindow

    window = MainWindow()
    window.show()
    _install_excepthook(window)
    quit_on_signals(window)
    files = list(files or [])
    if files:
        QTimer.singleShot(0, lambda: window.open_files(files))
    QTimer.singleShot(50, lambda: start_torch_warm_up(collector))
    return app.exec()
