"""Start the desktop application. (Placeholder written by the lead: the GUI replaces it.)"""
from __future__ import annotations


def run(files: list[str]) -> int:
    """Open the main window on `files` (the start view when empty); return the exit code."""
    raise NotImplementedError
