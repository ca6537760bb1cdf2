"""Whole-project jobs for a worker: predict every image into a folder, export the bundle.

Both are generators of (kind, value) items that StackJobs shows in the predict panel's progress
bar; stopping the worker between items cancels them (a mask file is written whole or not at
all, atomically).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from unet_studio.core.errors import UnetStudioError


def mask_file_name(entry) -> str:
    """"<image>_masks.tif", named after the image's labels file, which is unique in the
    project even when two images share a file name."""
    return f"{Path(entry.labels).stem}_masks.tif"


def predict_all_images(model, entries: list, folder: str | Path) -> Iterator[tuple]:
    """Predict every plane of every image in `entries` (project ImageEntry objects) and write
    its masks to `folder`. Items: ("progress", fraction over all images), then
    ("all_written", (number written, [skipped: reason], folder))."""
    from unet_studio.core.stack import open_stack
    from unet_studio.core.tiff_writer import write_mask
    from unet_studio.ml.predict import predict_stack  # worker thread: may load torch

    folder = Path(folder)
    written, skipped = 0, []
    for i, entry in enumerate(entries):
        try:
            stack = open_stack(entry.path)
        except UnetStudioError as e:
            skipped.append(str(e))
            continue
        try:
            if stack.n_c != model.in_channels:
                skipped.append(f"{entry.name}: {stack.n_c} channel(s), the model expects {model.in_channels}")
                continue
            result = None
            for progress in predict_stack(model, stack):
                yield ("progress", (i + progress.fraction) / len(entries))
                if progress.done:
                    result = progress.result
            write_mask(folder / mask_file_name(entry), result.mask, result.axes,
                       pixel_size=stack.pixel_size, z_spacing=stack.z_spacing, unit=stack.unit or "um")
            written += 1
        finally:
            stack.close()
    yield ("all_written", (written, skipped, str(folder)))


def export_bundle(project, path: str | Path) -> Iterator[tuple]:
    """Write the project's reproducibility bundle (core/bundle.py); ends with ("written", path)."""
    yield ("busy", None)
    written = project.export_bundle(path)
    yield ("written", str(written))
