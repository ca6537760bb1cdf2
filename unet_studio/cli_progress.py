"""The progress line of `unet-studio train` and `predict` on stderr."""
from __future__ import annotations

import sys
import time

LOG_EVERY = 5.0   # seconds between progress lines when stderr is a file or a pipe


class Progress:
    """A one-line progress display on stderr when it is a terminal; otherwise (a log file, a
    pipe, a cluster job) a full line at once and then every LOG_EVERY seconds."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self._last: float | None = None

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        every = 0.1 if self.live else LOG_EVERY
        if not (force or self._last is None or now - self._last > every):
            return
        self._last = now
        sys.stderr.write("\r\033[K" + text if self.live else text + "\n")
        sys.stderr.flush()

    def finish(self, text: str) -> None:
        if self.live:
            sys.stderr.write("\r\033[K")
        print(text, file=sys.stderr)


def bar(fraction: float, width: int = 24) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "[" + "#" * filled + "." * (width - filled) + "]"
