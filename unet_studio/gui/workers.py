"""Run core/ml generators in QThreads and report back to the GUI thread with signals.

Long work (opening a big stack, training, predicting a whole stack, exporting) is written in
core/ml as a generator that yields progress often. A `GeneratorWorker` runs one such generator
in its own QThread; `stop()` takes effect at the next yield (a plain function could not be
stopped, which is why the engine yields). `WorkerPool` keeps a reference to every running
worker, so none is garbage-collected mid-run, and waits for them when the window closes.
"""
from __future__ import annotations

import sys
import threading
import traceback
from typing import Any, Callable, Iterable, Iterator

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from unet_studio.core.errors import UnetStudioError


def plain_reason(error: BaseException) -> str:
    """One line a biologist can act on, for any exception raised in a worker.

    Our own errors already carry such a line; for anything else (a bug, or a library error we
    did not anticipate) we still say what failed in one line; the traceback goes to stderr for
    a bug report.
    """
    if isinstance(error, UnetStudioError):
        return str(error)
    if isinstance(error, MemoryError):
        return "Not enough memory for this operation. Try a smaller image or close other programs."
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if "out of memory" in text.lower():
        return "The graphics card ran out of memory. Close other programs using it, or train on the CPU."
    name = type(error).__name__
    return f"{name}: {text}" if text else f"Unexpected error ({name})."


class GeneratorWorker(QObject):
    """Runs `make_generator()` in a worker thread and emits each item it yields.

    `make_generator` is called in the worker thread, so heavy imports (torch) and set-up
    happen there, not on the GUI thread. `transform`, if given, is also applied in the worker
    thread to each item before it is emitted (e.g. colouring a prediction), keeping that work
    off the GUI thread.

    Signals: `yielded(item)` per item; `failed(message)` with one plain line; `finished()`
    always last, whether the generator ended, was stopped or failed.
    """

    yielded = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, make_generator: Callable[[], Iterable[Any]],
                 transform: Callable[[Any], Any] | None = None, name: str = "work",
                 break_on_stop: bool = True, about_image: bool = True):
        super().__init__()
        # False for work on the project rather than the image shown (opening, counting
        # labels, loading a model, Save As): showing another image does not stop it.
        self.about_image = about_image
        self._make_generator = make_generator
        self._transform = transform
        # False when the generator itself watches `stop_requested` (e.g. training, which then
        # yields one last report with the final model): we keep iterating until it ends.
        self._break_on_stop = break_on_stop
        self._stop = threading.Event()
        self.name = name
        self.stopped = False      # True when it ended because stop() was called
        self.error: str | None = None

    def stop(self) -> None:
        """Ask the worker to end at the next yield (thread-safe, returns at once)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        generator: Iterator[Any] | None = None
        try:
            if not self._stop.is_set():
                generator = iter(self._make_generator())
                for item in generator:
                    if self._transform is not None:
                        item = self._transform(item)
                    self.yielded.emit(item)
                    if self._break_on_stop and self._stop.is_set():
                        break
            self.stopped = self._stop.is_set()
        except Exception as error:  # every failure must reach the user as a dialog, not a crash
            if not isinstance(error, UnetStudioError):
                traceback.print_exc(file=sys.stderr)
            self.error = plain_reason(error)
            self.failed.emit(self.error)
        finally:
            close = getattr(generator, "close", None)
            if close is not None:
                try:
                    close()  # lets the generator release files / GPU memory now
                except Exception:
                    traceback.print_exc(file=sys.stderr)
            self.finished.emit()


class _Job(QObject):
    """Lives in the GUI thread, so the thread's `finished` reaches it queued, never from the
    worker thread itself (a thread cannot wait for itself).

    It finds its pool as its Qt parent and keeps no Python reference to it: a job deleted
    later must never hold the last reference to the pool, whose deletion would then delete
    the job a second time from inside its own destructor (a crash)."""

    def __init__(self, pool: "WorkerPool", worker: GeneratorWorker, thread: QThread):
        super().__init__(pool)
        self.worker, self.thread = worker, thread

    @Slot()
    def done(self) -> None:
        pool = self.parent()
        if isinstance(pool, WorkerPool):
            pool._forget(self)


class WorkerPool(QObject):
    """Owns the running workers and their threads; one place to stop and wait for all."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._jobs: list[_Job] = []

    def start(self, worker: GeneratorWorker) -> GeneratorWorker:
        """Start `worker` in a new QThread; connect its signals before calling this."""
        thread = QThread()
        thread.setObjectName(f"unet_studio-{worker.name}")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # Direct: quit() is thread-safe, and a queued quit would wait for the GUI thread, which
        # may itself be blocked in stop_all() waiting for this thread.
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        job = _Job(self, worker, thread)
        thread.finished.connect(job.done)
        self._jobs.append(job)
        thread.start()
        return worker

    def _forget(self, job: _Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
            job.thread.wait()
            # The worker and thread are owned by Python; dropping the job frees them, after
            # the signals they queued earlier have been delivered (same queue, in order).
            job.deleteLater()

    @property
    def idle(self) -> bool:
        """True when every worker has ended and the signals it sent have been delivered
        (a finished job is forgotten only after them: they share the GUI thread's queue)."""
        return not self._jobs

    @property
    def running(self) -> list[GeneratorWorker]:
        return [job.worker for job in self._jobs if not job.thread.isFinished()]

    def stop_all(self, timeout_ms: int = 30_000, image_only: bool = False) -> bool:
        """Ask every worker (image_only: those about the image shown) to stop and wait for its
        thread; True when all ended in time."""
        jobs = [job for job in self._jobs if job.worker.about_image or not image_only]
        for job in jobs:
            job.worker.stop()
        all_ended = True
        for job in jobs:
            all_ended &= job.thread.wait(timeout_ms)
        return all_ended
