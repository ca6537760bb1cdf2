"""One volume's planes shared among a cluster's workers (`predict --workers / --scheduler` with
`--format ome-zarr`): a 40 GB light-sheet stack is many tasks, not one.

The client makes the OME-Zarr images of the image's set (workflow/output_set.py's temporaries,
level 0 only) and measures the volume's intensity scaling once; each task predicts
PLANES_PER_TASK planes with that scaling and writes them into the images (each plane is its own
chunks, so tasks never write the same chunk); a task run again after a worker died writes the
same planes again. Once every task is done, the client adds the pyramid and the metadata and
swaps the set in: the files a single process writes. Objects need each plane's split, and 3-D
objects a whole time point, so an image with object outputs (or TIFF outputs) stays one task.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from unet_studio.workflow.export import (NEEDS_OBJECT_CLASS, OME_ZARR, WRITERS, ExportMeta, PredictedPart,
                                         PredictedPlane, PredictionOptions, write_item)

PLANES_PER_TASK = 8


def shared_out(stack, targets: dict, options: PredictionOptions) -> bool:
    """Whether the image's planes go to several tasks: an OME-Zarr set of masks or
    probabilities of a volume with more than one task's planes."""
    return (options.format == OME_ZARR and not any(what in targets for what in NEEDS_OBJECT_CLASS)
            and stack.n_t * stack.n_z > PLANES_PER_TASK)


class SharedVolume:
    """The client's side of one volume shared out: its files made, its scaling measured, its
    tasks' plane ranges; `finish()` completes and swaps in the set, `discard()` removes it."""

    def __init__(self, model, stack, targets: dict[str, Path], options: PredictionOptions):
        from unet_studio.ml.predict import normalisation_for
        from unet_studio.workflow.output_set import OutputSet, recover

        self.meta = ExportMeta.of(stack, model.classes, format=OME_ZARR)
        ordered = {what: Path(path) for what, path in targets.items()}
        recover(next(iter(ordered.values())).parent)
        self.outputs = OutputSet(ordered)
        self.files = {what: WRITERS[what].open(tmp, self.meta) for what, tmp in self.outputs.temps.items()}
        self.normalisation = normalisation_for(model, stack).to_dict()
        n = stack.n_t * stack.n_z
        self.ranges = [(a, min(a + PLANES_PER_TASK, n)) for a in range(0, n, PLANES_PER_TASK)]

    @property
    def temps(self) -> dict[str, str]:
        return {what: str(path) for what, path in self.outputs.temps.items()}

    def finish(self) -> list[Path]:
        for file in self.files.values():
            file.seek(file.n_blocks)
            file.close()
        return self.outputs.commit()

    def discard(self) -> None:
        for file in self.files.values():
            file.close()   # incomplete: left as it is, then removed
        self.outputs.discard()


def predict_range(model, image, temps: dict[str, str], first: int, stop: int, normalisation: dict,
                  options: PredictionOptions) -> None:
    """On a worker: predict planes first..stop-1 (t-major) of `image` (batch.ImageOutputs) with the
    client's scaling and write them into the set's images at `temps` (what -> path)."""
    from unet_studio.ml.normalise import Normalisation
    from unet_studio.ml.predict import predict_planes

    if not _still_there(temps):
        return
    with image.open() as stack:
        meta = replace(ExportMeta.of(stack, model.classes, format=OME_ZARR), reopen=True)
        files = {what: WRITERS[what].open(Path(path), meta) for what, path in temps.items()}
        planes = [(t, z) for t in range(stack.n_t) for z in range(stack.n_z)][first:stop]
        views = {"views": options.views} if options.views else {}
        norm = Normalisation(tuple(normalisation["low"]), tuple(normalisation["high"]))
        for step in predict_planes(model, stack, normalisation=norm, planes=planes, in_parts=True, **views):
            if step.prediction is None and step.part is None:
                continue
            if not _still_there(temps):
                return
            t, z = step.plane
            item = PredictedPlane(step.prediction) if step.part is None else PredictedPart.of(step.part)
            for what, file in files.items():
                file.seek(t * stack.n_z + z)
                write_item(what, file, item, meta)


def _still_there(temps: dict[str, str]) -> bool:
    """Whether the set's images are still there to write into: a task run again after its set
    was swapped in or discarded (a worker that died holding a result) writes nothing."""
    return all(Path(path).is_dir() for path in temps.values())
