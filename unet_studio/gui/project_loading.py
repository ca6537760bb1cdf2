"""Kept only for gui/exporting.py, which imports `is_bundled_sample` from here: opening
images and projects is unet_studio.workflow.opening. Delete once exporting.py imports it there."""
from unet_studio.workflow.opening import is_bundled_sample

__all__ = ["is_bundled_sample"]
