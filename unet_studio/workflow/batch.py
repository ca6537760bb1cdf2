"""Predict many images into one folder: `unet-studio predict` and the app's predict-all.

`plan_outputs` decides every file name before any work, so that two images called `a.tif` in
different folders get `a_mask.tif` and `a-2_mask.tif` (images found in a sub-folder of a
folder go to that sub-folder of the output folder, workflow/image_paths.py), and so that no
output ever replaces an input. `predict_images` then predicts and writes them one image at a
time; an image whose files are all there already is `done` (a rerun skips it).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from unet_studio.core.errors import UnetStudioError
from unet_studio.core.stack import scene_name, scene_stem
from unet_studio.workflow.export import (TIFF, OutputError, PredictionOptions, output_name, predict_to_files,
                                         prepared)
from unet_studio.workflow.image_paths import FoundImage


@dataclass
class ImageOutputs:
    """One image and the files its prediction goes to (what -> path); of a file of several
    scenes, which one (from 0; None: a file of one)."""
    source: Path
    targets: dict[str, Path]
    scene: int | None = None
    where: str = ""   # the folder that tells it apart from an image of the same name in the batch

    @property
    def name(self) -> str:
        """The image in the user's words: `a.tif`, `plate.czi, scene 3`; `ctrl/a.tif` where
        the batch holds another `a.tif`."""
        return f"{self.where}/" * bool(self.where) + scene_name(self.source, self.scene)

    def open(self):
        """The image's Stack (core/stack.py)."""
        from unet_studio.core.stack import open_stack

        return open_stack(self.source, self.scene or 0)

    @property
    def done(self) -> bool:
        """Every output is there (written together as a set by an earlier run)."""
        return all(target.exists() for target in self.targets.values())


@dataclass
class BatchStep:
    """Progress over all images: `fraction`; when an image is done, `written` (its paths) or
    `skipped` (one line: why it was not predicted); `image` is its position in the plan."""
    fraction: float
    image: int
    written: list[Path] | None = None
    skipped: str | None = None


def unique_stems(sources: list[Path | FoundImage]) -> list[str]:
    """Output stems for `sources`, in order (`plate_scene3` for a scene of a file of several): a
    stem already taken gets -2, -3, ..."""
    taken: set[str] = set()
    stems = []
    for source in sources:
        found = source if isinstance(source, FoundImage) else FoundImage(Path(source))
        base = scene_stem(found.path, found.scene)
        stem, n = base, 1
        while stem.lower() in taken:
            n += 1
            stem = f"{base}-{n}"
        taken.add(stem.lower())
        stems.append(stem)
    return stems


def plan_outputs(sources: list[str | Path | FoundImage], folder: str | Path, kinds: list[str],
                 protected: list[str | Path] = (), format: str = TIFF) -> list[ImageOutputs]:
    """Where each image's outputs go in `folder` (a FoundImage's in its sub-folder). Raises
    OutputError when one would replace an input (an image, or a file in `protected` such as
    the model)."""
    folder = Path(folder)
    found = [s if isinstance(s, FoundImage) else FoundImage(Path(s)) for s in sources]
    sources = [image.path for image in found]
    inputs = {_identity(p) for p in list(sources) + [Path(p) for p in protected]}
    stems: dict[int, str] = {}
    for subfolder in dict.fromkeys(image.subfolder for image in found):
        members = [i for i, image in enumerate(found) if image.subfolder == subfolder]
        stems.update(zip(members, unique_stems([found[i] for i in members])))
    plan, used = [], {(image.subfolder, stems[i].lower()) for i, image in enumerate(found)}
    for i, image in enumerate(found):
        source, place = image.path, folder / image.subfolder
        stem, n = stems[i], 1
        while _made_from_another(place, stem, format, image):   # an earlier run's image of this name
            n += 1
            stem = f"{stems[i]}-{n}"
            while (image.subfolder, stem.lower()) in used:
                n += 1
                stem = f"{stems[i]}-{n}"
            used.add((image.subfolder, stem.lower()))
        targets = {what: place / output_name(stem, what, format) for what in kinds}
        for target in targets.values():
            if _identity(target) in inputs:
                raise OutputError(f"{target} would replace an input file; choose another --out folder")
        plan.append(ImageOutputs(source, targets, image.scene))
    _tell_apart(plan)
    return plan


def _tell_apart(plan: list[ImageOutputs]) -> None:
    """Images of one name in the batch are named with their folders from where they part."""
    by_name: dict[str, list[ImageOutputs]] = {}
    for item in plan:
        by_name.setdefault(item.source.name.lower(), []).append(item)
    for same in by_name.values():
        folders = {item.source.absolute().parent for item in same}
        if len(folders) > 1:
            common = Path(os.path.commonpath([str(f) for f in folders]))
            for item in same:
                where = item.source.absolute().parent.relative_to(common).as_posix()
                item.where = "" if where == "." else where


def _made_from_another(place: Path, stem: str, format: str, image: FoundImage) -> bool:
    """Whether the image files named after `stem` in `place` were predicted from another image
    that is still there (they say so: export_meta.source_record); files that say nothing are
    taken to be this image's, as are those of an image since moved away."""
    from unet_studio.workflow.export import ENDINGS, KINDS
    from unet_studio.workflow.export_meta import source_in, source_record

    ours = source_record(image.path, image.scene)
    for what in (k for k in KINDS if k not in ENDINGS):
        record = source_in(place / output_name(stem, what, format))
        if record:
            return record != ours and Path(record["source"]).exists() and not same_file(record["source"], image.path)
    return False


def check_writable_folder(folder: str | Path) -> Path:
    """Create `folder` if needed; raise OutputError (one line) if files cannot be written there."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file, not a folder: give a folder for the outputs")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {folder}: {e.strerror or e}") from None
    if not folder.is_dir():
        raise OutputError(f"{folder} is not a folder")
    probe_writing(folder / ".unet-studio-probe")
    return folder


def probe_writing(path: str | Path) -> None:
    """Raise OutputError (one line) unless a file can be created beside `path` (tried, then
    removed: permissions, read-only disks and full quotas all show)."""
    path = Path(path)
    probe = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as e:
        raise OutputError(f"cannot write in {path.parent}: {e.strerror or e}") from None


def predict_images(model, plan: list[ImageOutputs], options: PredictionOptions = PredictionOptions(), *,
                   device: Any = None) -> Iterator[BatchStep]:
    """Predict every image of `plan` and write its outputs as a set. An image that cannot be
    read or does not fit the model is skipped (BatchStep.skipped); the others go on."""
    n = len(plan)
    inference = prepared(model, options, device) if plan else None
    for i, item in enumerate(plan):
        for fraction, written, skipped in predict_image(model, item, options, device=device, inference=inference):
            yield BatchStep((i + fraction) / n, i, written=written, skipped=skipped)


def predict_image(model, item: ImageOutputs, options: PredictionOptions = PredictionOptions(), *,
                  device: Any = None, inference=None) -> Iterator[tuple[float, list[Path] | None, str | None]]:
    """Predict one image into its set of files: (fraction of this image, written paths at the
    end, None) items, or one (1.0, None, why it failed in one line) when it cannot be read or
    does not fit. inference: the model prepared once for a batch (workflow/export.prepared)."""
    try:
        stack = item.open()
    except UnetStudioError as e:
        yield 1.0, None, str(e)
        return
    try:
        if stack.n_c != model.in_channels:
            yield 1.0, None, f"{item.name}: {stack.n_c} channel(s), the model expects {model.in_channels}"
            return
        make_folder(next(iter(item.targets.values())).parent)
        for step in predict_to_files(model, stack, item.targets, options, device=device, inference=inference):
            yield step.fraction, step.written, None
    except UnetStudioError as e:
        yield 1.0, None, f"{item.name}: {e}"
    finally:
        stack.close()


def make_folder(folder: Path) -> None:
    """Create an output folder; OutputError (one line) if it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {folder}: {e.strerror or e}") from None


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (through a link or another spelling of it too)."""
    try:
        if Path(a).exists() and Path(b).exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return _identity(Path(a)) == _identity(Path(b))


def _identity(path: Path) -> str:
    """A path as the file system sees it (resolved, case folded where names are)."""
    return os.path.normcase(str(Path(path).resolve()))
