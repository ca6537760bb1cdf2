"""Signals from worker threads do not eat references to Python's singletons.

PySide6 6.12.0 decrements True's reference count once per signal emitted from a worker
thread. Before Python 3.12 True is an ordinary object, so after as many reports as it has
references (about 12,000 with torch loaded, some 40 minutes of training) the app aborts with
"Fatal Python error: bool_dealloc". pyproject.toml keeps PySide6 below 6.12 there; this test
says so if an installed version brings the bug back.
"""
from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, QThread, Signal, Slot

EMITS = 300


class _Sender(QObject):
    report = Signal(object)

    @Slot()
    def run(self) -> None:
        for i in range(EMITS):
            self.report.emit(("step", i, None))


class _Receiver(QObject):
    def __init__(self):
        super().__init__()
        self.received = 0

    @Slot(object)
    def take(self, item) -> None:
        self.received += 1


def test_reports_from_a_worker_thread_keep_true_false_and_none_alive(qapp, qtbot,
                                                                     garbage_collected_in_the_gui_thread):
    # Garbage of earlier tests, collected meanwhile by the GUI-thread collector, would drop
    # thousands of references: collect it first and pause collection while counting.
    collector = garbage_collected_in_the_gui_thread
    collector.stop()
    gc.disable()
    gc.collect()
    try:
        lost = _references_lost_over_signals_from_a_thread(qtbot)
    finally:
        gc.enable()
        collector.start()
    assert not lost, f"references lost over {EMITS} signals from a thread: {lost}"


def _references_lost_over_signals_from_a_thread(qtbot) -> dict:
    sender, receiver, thread = _Sender(), _Receiver(), QThread()
    sender.moveToThread(thread)
    thread.started.connect(sender.run)
    sender.report.connect(receiver.take)
    before = {name: sys.getrefcount(value) for name, value in (("True", True), ("False", False), ("None", None))}
    thread.start()
    qtbot.waitUntil(lambda: receiver.received == EMITS, timeout=30_000)
    thread.quit()
    thread.wait()
    after = {name: sys.getrefcount(value) for name, value in (("True", True), ("False", False), ("None", None))}
    # Unrelated code may drop a few references meanwhile; a leak per emit drops EMITS.
    return {name: before[name] - after[name] for name in before if before[name] - after[name] >= EMITS // 2}
