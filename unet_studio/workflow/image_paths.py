"""Which images a batch means: files, folders of images (with their sub-folders when asked)
and glob patterns, as `unet-studio predict` takes them.

A folder stands for each image in it, predicted on its own; a folder that is one stack of
slices is taken as a stack only when asked (`as_stack`). An image found in a sub-folder keeps
that sub-folder under the output folder, so names stay the same from run to run (a rerun can
see what is done) and two `a.tif` of different plates never meet. Files the batch wrote
itself (`*_mask.tif`, ... inside the output folder) are never taken as images.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, replace
from pathlib import Path

from unet_studio.core.errors import UnetStudioError
from unet_studio.core.stack import IMAGE_ENDINGS, scenes_in
from unet_studio.core.stack_folder import natural_order
from unet_studio.core.stack_zarr import is_ome_zarr
from unet_studio.workflow.export import FORMAT_ENDINGS, KINDS, output_name


class ImagePathError(UnetStudioError):
    """A path that names no image: missing, an empty folder, a pattern matching nothing."""


@dataclass(frozen=True)
class FoundImage:
    """An image to predict and the sub-folder of the output folder its files go to; of a file
    of several scenes (wells, positions of a CZI), which one (from 0; None: a file of one)."""
    path: Path
    subfolder: Path = Path()
    scene: int | None = None


def is_image_name(name: str) -> bool:
    lower = name.lower()
    return any(lower.endswith(ending) for ending in IMAGE_ENDINGS) and not name.startswith(".")


def find_images(paths: list[str | Path], *, recursive: bool = False, as_stack: bool = False,
                out: str | Path | None = None) -> list[FoundImage]:
    """The images `paths` name, in order, each once. A folder gives the images in it (natural
    name order; sub-folders too with `recursive`) unless `as_stack`, when it is one stack; a
    file of several scenes gives each. A path that is neither a file, a folder nor a matching
    pattern raises ImagePathError."""
    found: list[FoundImage] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(FoundImage(path))
        elif path.is_dir():
            whole = as_stack or is_ome_zarr(path)
            found.extend([FoundImage(path)] if whole else _in_folder(path, recursive, out))
        elif _is_pattern(str(raw)):
            found.extend(_matching(str(raw), out))
        else:
            raise ImagePathError(f"{raw} does not exist")
    seen: set[str] = set()
    unique = []
    for image in found:
        key = os.path.normcase(str(image.path.resolve()))
        if key not in seen:
            seen.add(key)
            unique.extend(_each_scene(image))
    return unique


def _each_scene(image: FoundImage) -> list[FoundImage]:
    """The scenes of a file of several (read from its header), else the image as it is (also
    where it cannot be read: predicting it names the problem)."""
    try:
        scenes = scenes_in(image.path)
    except UnetStudioError:
        return [image]
    return [image] if scenes == 1 else [replace(image, scene=k) for k in range(scenes)]


def _in_folder(folder: Path, recursive: bool, out) -> list[FoundImage]:
    images = []
    for root, folders, files in os.walk(folder):
        root = Path(root)
        # An OME-Zarr folder is one image; hidden folders and (unless recursive) all others
        # are not looked into.
        zarrs = [name for name in folders if is_ome_zarr(root / name)]
        images += [root / name for name in zarrs + files if is_image_name(name)]
        folders[:] = sorted(name for name in folders
                            if recursive and name not in zarrs and not name.startswith("."))
    images = [p for p in images if not _is_our_output(p, out)]
    if not images:
        where = " or its sub-folders" if recursive else ""
        hint = "" if recursive else " (--recursive looks in sub-folders)"
        raise ImagePathError(f"{folder} holds no images{where}{hint}")
    ordered = sorted(images, key=lambda p: natural_order(str(p)))
    return [FoundImage(p, p.parent.relative_to(folder)) for p in ordered]


def _matching(pattern: str, out) -> list[FoundImage]:
    images = [Path(p) for p in glob.glob(pattern, recursive=True)]
    images = [p for p in images if (p.is_file() or is_ome_zarr(p)) and is_image_name(p.name)
              and not _is_our_output(p, out)]
    if not images:
        raise ImagePathError(f"no images match {pattern}")
    return [FoundImage(p) for p in sorted(images, key=lambda p: natural_order(str(p)))]


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


def _is_our_output(path: Path, out) -> bool:
    """A file an earlier run wrote: named like an output, and in the output folder or saying
    what it was predicted from (export_meta.source_record: a run with another --out)."""
    from unet_studio.workflow.export_meta import source_in

    name = path.name.lower()
    if not any(name.endswith(output_name("", what, format)) for what in KINDS for format in FORMAT_ENDINGS):
        return False
    try:
        if out is not None:
            path.resolve().relative_to(Path(out).resolve())
            return True
    except ValueError:
        pass
    return bool(source_in(path))
