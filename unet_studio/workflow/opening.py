"""Opening projects and their images, as generators that run off the GUI thread.

Opening a stack, reading a labels file, measuring contrast and loading a model file can each
take seconds on big data; the app runs these generators in its workers (gui/workers.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from unet_studio.core.errors import LabelsError, StackError, UnetStudioError
from unet_studio.core.label_file import read_labels
from unet_studio.core.labels import LabelVolume
from unet_studio.core.image_project import project_for_image
from unet_studio.core.project import Project
from unet_studio.core.project_file import ImageEntry
from unet_studio.core.stack import Stack, open_stack
from unet_studio.workflow.loaded_image import LoadedImage, measure_levels
from unet_studio.workflow.memory import share_of, too_much

CURRENT_IMAGE = "current_image"   # project setting: the image shown last
# Bytes the window holds per pixel of the shown plane: the image and its display, the overlays,
# the shown plane's prediction (probabilities, mask) and the room to make it. The labels add a
# byte per pixel of every plane.
WINDOW_BYTES_PER_PIXEL = 50


def is_bundled_sample(path) -> bool:
    """True for the sample image shipped with the app (its folder belongs to the install)."""
    try:
        from unet_studio.resources import sample_image_path

        return Path(path).resolve() == sample_image_path().resolve()
    except (ImportError, FileNotFoundError, OSError):
        return False


@dataclass
class OpenedImage:
    """An image of a project, ready to show; `labels` is None when its labels file is
    damaged (`damaged` says why) and the user must choose to start fresh."""

    project: Project
    entry: ImageEntry
    stack: Stack
    levels: list[tuple[float, float]]
    labels: LabelVolume | None
    damaged: str = ""

    def loaded(self) -> LoadedImage:
        return LoadedImage(self.stack, self.labels, self.levels)


def check_showable(stack: Stack, free: int | None = None) -> None:
    """StackError where the window could not hold a plane of `stack` in the free memory (`free`
    bytes; None: measured): what to do instead, in one line, before any plane is read."""
    height, width = stack.plane_shape
    need = height * width * (WINDOW_BYTES_PER_PIXEL + stack.n_t * stack.n_z)
    free = too_much(need, free)
    if free is not None:
        raise StackError(f"{stack.path or stack.name}: a plane of {height} x {width} px needs about "
                         f"{need / 2**30:.1f} GB to show, paint and predict here, {share_of(free)}; "
                         f"paint and train on a crop of it (Fiji: Image > Crop), then predict the whole "
                         f"image with `unet-studio predict MODEL IMAGE --out FOLDER`, part by part")


def _prepare(project: Project, entry: ImageEntry, stack: Stack) -> OpenedImage:
    try:
        check_showable(stack)
        levels = measure_levels(stack)
        try:
            labels, damaged = project.labels_for(entry, stack), ""
        except LabelsError as e:
            labels, damaged = None, str(e)
        return OpenedImage(project, entry, stack, levels, labels, damaged)
    except Exception:
        stack.close()
        raise


def open_image(path: str | Path, project: Project | None = None) -> Iterator[OpenedImage]:
    """An image file opened on its own: its project is the one kept for it (see
    core.image_project.project_for_image), or `project` when it already holds the image."""
    stack = open_stack(path)  # a file that is no image fails here, before any project is made
    try:
        if project is None:
            project = project_for_image(path, beside=not is_bundled_sample(path))
        entry = project.add_image(path, stack.scenes)
    except Exception:
        stack.close()
        raise
    yield _prepare(project, entry, stack)


def load_entry(project: Project, entry: ImageEntry) -> Iterator[OpenedImage]:
    """One image of an open project (a file of several scenes that a project from before scenes
    held as one brings in its other scenes)."""
    stack = entry.open()
    if entry.scene is None and stack.scenes > 1:
        try:
            project.add_image(entry.path, stack.scenes)
        except Exception:
            stack.close()
            raise
    yield _prepare(project, entry, stack)


def first_image(project: Project) -> ImageEntry | None:
    """The image to show on opening: the one shown last, else the first that is there."""
    present = [e for e in project.images if not e.missing]
    last = project.settings.get(CURRENT_IMAGE)
    return next((e for e in present if e.id == last), present[0] if present else None)


@dataclass
class OpenedProject:
    """A project just opened, with the image to show first (None if none can be shown;
    `failure` then says why, when it is not simply that no image is there)."""

    project: Project
    image: OpenedImage | None
    failure: str = ""


def open_project(folder: str | Path) -> Iterator[OpenedProject]:
    """Open a project and the image it showed last (else its first image that is there)."""
    project = Project.open(folder)
    entry = first_image(project)
    if entry is None:
        yield OpenedProject(project, None)
        return
    try:
        image = _prepare(project, entry, entry.open())
    except UnetStudioError as error:
        yield OpenedProject(project, None, str(error))
        return
    yield OpenedProject(project, image)


def count_labeled(project: Project, entries: list[ImageEntry]) -> Iterator[tuple[str, int]]:
    """(image id, labeled pixels) per entry; -1 when its labels file cannot be read."""
    loaded = project.loaded_labels()
    for entry in entries:
        if entry.id in loaded:
            yield entry.id, int(np.count_nonzero(loaded[entry.id].data))
            continue
        path = project.folder / entry.labels
        if not path.is_file():
            yield entry.id, 0
            continue
        try:
            data = read_labels(path)[0]
        except (LabelsError, OSError):
            yield entry.id, -1
            continue
        yield entry.id, int(np.count_nonzero(data))


def load_model_file(path: Path, model_id: str) -> Iterator[tuple]:
    """Yields (model_id, Model) for a model file of the project (torch: worker thread)."""
    from unet_studio.ml.model_file import load_model

    yield model_id, load_model(path)


def import_model_file(project, path: str | Path, channels: int) -> Iterator[tuple]:
    """Yields (model_id, Model) for a model file from outside the project: a unet_studio model
    (.pt) or a bioimage.io package of ours (.zip), checked against the image's `channels` and
    kept in the project's models as the current one (torch and the copy: worker thread)."""
    from unet_studio.core.errors import ModelError
    from unet_studio.ml.model_file import save_model
    from unet_studio.ml.run_start import steps_trained
    from unet_studio.workflow.bioimageio_load import load_model_or_package

    path = Path(path)
    model = load_model_or_package(path)
    if model.in_channels != channels:
        raise ModelError(f"{path.name} reads images of {model.in_channels} channel(s); "
                         f"this image has {channels}")
    entry = project.add_model(lambda target: save_model(target, model),
                              steps=steps_trained(model.summary) or None, info={"imported_from": path.name})
    yield entry.id, model


def close_quietly(stack) -> None:
    try:
        stack.close()
    except UnetStudioError:
        pass
