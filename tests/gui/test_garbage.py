"""Cycles are collected in the GUI thread, never in a worker (where freeing a Qt object can
deadlock or crash the app)."""
from __future__ import annotations

import gc
import threading

from unet_studio.gui.garbage import GuiThreadGarbageCollector


class Cycle:
    """An object in a reference cycle that records the thread that collected it."""

    collected_in: list[str] = []

    def __init__(self):
        self.me = self

    def __del__(self):
        Cycle.collected_in.append(threading.current_thread().name)


def make_garbage_in_a_worker():
    # Past the generation-0 threshold: Python's own collector would run in this thread.
    for _ in range(2 * gc.get_threshold()[0]):
        Cycle()


def test_a_cycle_made_in_a_worker_is_collected_in_the_gui_thread(qapp, qtbot):
    collector = GuiThreadGarbageCollector(interval_ms=10)
    collector.start()
    try:
        assert not gc.isenabled()
        Cycle.collected_in.clear()
        worker = threading.Thread(target=make_garbage_in_a_worker, name="training worker")
        worker.start()
        worker.join()
        assert Cycle.collected_in == []       # nothing collected them in the worker
        qtbot.waitUntil(lambda: len(Cycle.collected_in) >= 1, timeout=5_000)
        assert set(Cycle.collected_in) == {threading.main_thread().name}
    finally:
        collector.stop()
    gc.collect()


def test_stop_gives_collection_back_to_python(qapp):
    enabled = gc.isenabled()
    collector = GuiThreadGarbageCollector()
    collector.start()
    collector.stop()
    assert gc.isenabled() == enabled


def test_collection_turned_back_on_by_a_library_is_turned_off_again(qapp, qtbot):
    collector = GuiThreadGarbageCollector(interval_ms=10)
    collector.start()
    try:
        gc.enable()                     # as some library's code might
        qtbot.waitUntil(lambda: not gc.isenabled(), timeout=2_000)
    finally:
        collector.stop()



def test_a_paused_collector_collects_nothing_until_resumed(qapp):
    collector = GuiThreadGarbageCollector()   # collect_due called by hand, not by its timer
    collector.start()
    try:
        Cycle.collected_in.clear()
        collector.pause()
        assert collector.paused
        make_garbage_in_a_worker()
        collector.collect_due()
        assert Cycle.collected_in == []
        collector.resume()
        collector.collect_due()
        assert Cycle.collected_in and set(Cycle.collected_in) == {threading.main_thread().name}
    finally:
        collector.stop()
    gc.collect()


def test_the_torch_warm_up_pauses_the_collector_then_sets_aside_what_lives(qapp):
    """While torch is imported and warmed up nothing is collected; then what lives (the
    libraries' objects) is frozen out of the collector's sight, and it goes on."""
    import torch

    from unet_studio.gui.app import start_torch_warm_up

    collector = GuiThreadGarbageCollector()
    collector.start()
    threads = torch.get_num_threads()   # the warm-up leaves a core for the window
    gc.unfreeze()
    try:
        warm_up = start_torch_warm_up(collector)
        assert collector.paused
        warm_up.join(120)
        assert not warm_up.is_alive() and not collector.paused
        assert gc.get_freeze_count() > 10_000
    finally:
        collector.stop()
        gc.unfreeze()   # the other tests' objects back in sight
        torch.set_num_threads(threads)
