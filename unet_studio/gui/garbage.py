"""Python's cycle collector, run only in the GUI thread.

Left alone, the collector runs in whichever thread crosses an allocation threshold: often a
worker (training allocates a lot). If the cycles it then frees hold Qt objects (a widget of a
closed window, a dialog), Qt destroys them off the GUI thread, and that can deadlock (Qt's
connection lock taken in the worker while the GUI thread, holding the GIL, waits for it) or
crash. So automatic collection is turned off and a timer in the GUI thread collects by the
same thresholds, the way pyqtgraph's GarbageCollector does. Reference counting, which frees
almost everything, is not affected.

What the libraries make as they are imported (torch, Qt, scikit-image: some 200,000 objects)
lives as long as the program, but each collection that reaches it scans it all, holding the
GUI thread 40-260 ms: one due as Train was pressed froze the brush for a quarter of a second.
So while torch is imported and warmed up (gui/app.py) the collector waits (`pause`), and
then what lives is set aside for good (`set_aside_what_lives_now`: gc.freeze) and it goes on.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadGarbageCollector(QObject):
    """Create and start() in the GUI thread; stop() gives collection back to Python."""

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()
        self._paused = False

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    def pause(self) -> None:
        """Collect nothing until resume() (any thread may call either)."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def collect_due(self) -> None:
        """Collect the generations whose counts passed Python's thresholds (as gc would). A
        library that turned automatic collection back on meanwhile is overruled: a collection in
        a worker that frees a Qt object deadlocks against the GUI thread."""
        if gc.isenabled():
            gc.disable()
        if self._paused:
            return
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        for g in range(3):
            if counts[g] <= thresholds[g]:
                break
            generation = g
        if generation >= 0:
            gc.collect(generation)


def set_aside_what_lives_now() -> None:
    """Move every object alive now out of the collector's sight for good (gc.freeze): called
    once the libraries are imported. Reference counting still frees them if they die."""
    gc.freeze()


def collect_garbage_in_gui_thread(parent: QObject) -> GuiThreadGarbageCollector:
    """Start a collector owned by `parent` (the QApplication) and return it."""
    collector = GuiThreadGarbageCollector(parent=parent)
    collector.start()
    return collector
