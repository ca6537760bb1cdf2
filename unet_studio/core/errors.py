"""The project's own errors: problems a user can fix, each with a one-line message.

Everything the user can cause (a bad file, bad labels, a broken model file) is raised as a
subclass of UnetStudioError, so the CLI and the GUI can show `str(error)` as one plain line
instead of a traceback.
"""
from __future__ import annotations


class UnetStudioError(Exception):
    """Base: a problem the user can fix; str(e) is one plain line."""


class StackError(UnetStudioError):
    """A file that cannot be read as an image (names file + reason)."""


class LabelsError(UnetStudioError):
    """Labels that cannot be read, written or applied (names file + reason)."""


class ModelError(UnetStudioError):
    """A model file that cannot be read or does not fit the images."""


class TrainingInputError(UnetStudioError):
    """Bad labels or images given to training (e.g. nothing labeled, shapes differ)."""


class ProjectError(UnetStudioError):
    """A project folder that cannot be opened or saved (names the folder + reason)."""
