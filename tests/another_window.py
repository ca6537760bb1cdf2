"""Other unet_studio processes holding a project (core/project_lock.py), as other windows would."""
from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# Waits for a file to appear (when given), claims the folder, says whether it got it, and
# holds it until killed.
_HOLD = ("import sys, time\n"
         "from pathlib import Path\n"
         "from unet_studio.core import project_lock\n"
         "while len(sys.argv) > 2 and not Path(sys.argv[2]).exists():\n"
         "    time.sleep(0.001)\n"
         "print(project_lock.claim(sys.argv[1]) is None, flush=True)\n"
         "time.sleep(120)\n")


def start_claiming(folder: Path, start: Path | None = None) -> subprocess.Popen:
    """A process that claims the project in `folder` (once `start` exists, when given); its first
    line says True where it got it."""
    extra = [str(start)] if start is not None else []
    return subprocess.Popen([sys.executable, "-c", _HOLD, str(folder), *extra], stdout=subprocess.PIPE, text=True)


def got_it(process: subprocess.Popen) -> bool:
    return process.stdout.readline().strip() == "True"


def stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()
    process.stdout.close()


@contextmanager
def window_holding(folder: Path) -> Iterator[subprocess.Popen]:
    """A running process that holds the project in `folder` until the block ends."""
    process = start_claiming(folder)
    try:
        assert got_it(process), "the other window could not hold the project"
        yield process
    finally:
        stop(process)
