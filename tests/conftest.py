"""Shared test setup: no display is needed, and no test may wait on a real screen."""
from __future__ import annotations

import os

# Must be set before any Qt import (pytest-qt creates the QApplication lazily).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests run on small shared machines: keep numerical libraries from starting a thread
# per core in every test process.
os.environ.setdefault("OMP_NUM_THREADS", "2")
