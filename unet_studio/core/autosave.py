"""Autosave: write labels shortly after each stroke, on a background thread.

The painting thread only calls `changed(labels)`, which records a deadline and returns at
once. A daemon thread waits until no stroke has ended for `quiet` seconds (or `longest`
seconds since the first unsaved stroke, so continuous painting is still saved), then calls
`write(labels)`. The writer snapshots the array when it runs, so many quick strokes cost one
write, and painting never waits for the disk.

Errors (e.g. a read-only disk) go to `on_error(labels, error)`, called on the autosave
thread: a GUI must hand it over to its own thread (e.g. a queued Qt signal).
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from unet_studio.core.labels import LabelVolume


class Autosaver:
    """Coalescing background writer for LabelVolumes (see module docstring)."""

    def __init__(
        self,
        write: Callable[[LabelVolume], None],
        *,
        quiet: float = 1.0,
        longest: float = 2.0,
        on_error: Callable[[LabelVolume, BaseException], None] | None = None,
        on_saved: Callable[[LabelVolume], None] | None = None,
    ):
        """write(labels): saves one volume (must be safe to call from another thread)."""
        self._write = write
        self.quiet = quiet
        self.longest = longest
        self._on_error = on_error
        self._on_saved = on_saved
        self._cond = threading.Condition()
        # id(labels) -> [labels, first_change, last_change]
        self._pending: dict[int, list] = {}
        self._writing = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.last_error: BaseException | None = None

    def changed(self, labels: LabelVolume) -> None:
        """A stroke ended on `labels`: save it soon. Returns immediately."""
        now = time.monotonic()
        with self._cond:
            if self._stopping:
                return
            item = self._pending.get(id(labels))
            if item is None:
                self._pending[id(labels)] = [labels, now, now]
            else:
                item[2] = now
            self._start_thread()
            self._cond.notify_all()

    @property
    def pending(self) -> bool:
        """True while some change is not written yet."""
        with self._cond:
            return bool(self._pending) or self._writing > 0

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Write everything pending now and wait for it. False on timeout or write error."""
        self.last_error = None
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            for item in self._pending.values():
                item[1] = item[2] = float("-inf")  # due now
            self._cond.notify_all()
            while self._pending or self._writing:
                if self._thread is None or not self._thread.is_alive():
                    # No worker (never started or closed): write on this thread.
                    self._cond.release()
                    try:
                        self._write_due(force=True)
                    finally:
                        self._cond.acquire()
                    continue
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return self.last_error is None

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush, then stop the thread. Later `changed` calls are ignored."""
        ok = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        return ok

    # ---- worker ----------------------------------------------------------------------
    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="unet_studio autosave", daemon=True)
            self._thread.start()

    def _due_time(self, item: list) -> float:
        return min(item[2] + self.quiet, item[1] + self.longest)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    if self._pending:
                        wait = min(self._due_time(i) for i in self._pending.values()) - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._stopping and not self._pending:
                    return
            self._write_due(force=self._stopping)

    def _write_due(self, force: bool) -> None:
        now = time.monotonic()
        with self._cond:
            due = [
                key for key, item in self._pending.items() if force or self._due_time(item) <= now
            ]
            items = [self._pending.pop(key) for key in due]
            self._writing += len(items)
        for labels, *_ in items:
            try:
                self._write(labels)
            except Exception as error:  # reported, never raised into the painting thread
                self.last_error = error
                if self._on_error is not None:
                    self._call_quietly(self._on_error, labels, error)
            else:
                if self._on_saved is not None:
                    self._call_quietly(self._on_saved, labels)
            finally:
                with self._cond:
                    self._writing -= 1
                    self._cond.notify_all()

    @staticmethod
    def _call_quietly(callback, *args) -> None:
        try:
            callback(*args)
        except Exception:  # a broken callback must not kill the autosave thread
            import logging

            logging.getLogger(__name__).exception("autosave callback failed")
