"""A worker pool can go away at any moment after its work ended without crashing the app.

Found by CI: a finished job, waiting for Qt's deferred deletion, held the last Python
reference to its pool; deleting the job freed the pool, whose destructor deleted the job a
second time from inside its own destructor (a segmentation fault in roughly one run of the
plane-predictor test in fifteen). Run in a child process, so a crash fails this test
instead of ending the whole test session.
"""
from __future__ import annotations

import os
import subprocess
import sys

DROP_THE_POOL_WHILE_ITS_JOBS_WAIT_TO_BE_DELETED = """
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication
from unet_studio.gui.workers import GeneratorWorker, WorkerPool

app = QApplication([])
for _ in range(10):
    pool = WorkerPool()
    results = []
    worker = GeneratorWorker(lambda: iter([1, 2, 3]))
    worker.yielded.connect(results.append)
    pool.start(worker)
    while not pool.idle:
        app.processEvents()
    assert results == [1, 2, 3], results
    del pool, worker          # the pool's last Python reference goes; its job awaits deletion
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    app.processEvents()
print("survived")
"""


def test_a_pool_dropped_while_its_finished_jobs_await_deletion_does_not_crash():
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-X", "faulthandler", "-c",
                             DROP_THE_POOL_WHILE_ITS_JOBS_WAIT_TO_BE_DELETED],
                            capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, f"exit code {result.returncode}:\n{result.stderr[-3000:]}"
    assert result.stdout.strip() == "survived"
