"""Running a test's work in a thread of its own, as the app runs training."""
from __future__ import annotations

import threading
from typing import Any, Callable


def in_its_own_thread(work: Callable[[], Any]) -> Any:
    """work()'s result, run in a new thread (its exception raised here). torch's thread count,
    one for the whole process, is put back afterwards."""
    import torch

    before = torch.get_num_threads()
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:   # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run)
    try:
        thread.start()
        thread.join()
    finally:
        torch.set_num_threads(before)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
