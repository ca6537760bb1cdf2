"""The progress line of `unet-studio train` and `predict` on stderr."""
from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self._last = 0.0

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if self.live and (force or now - self._last > 0.1):
            self._last = now
            sys.stderr.write("\r\033[K" + text)
            sys.stderr.flush()

    def finish(self, text: str) -> None:
        if self.live:
            sys.stderr.write("\r\033[K")
        print(text, file=sys.stderr)


def bar(fraction: float, width: int = 24) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "[" + "#" * filled + "." * (width - filled) + "]"
