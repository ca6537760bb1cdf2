"""Predictions written as files: masks, probabilities and instances, for the app and the CLI.

One naming rule (core/stack.py `scene_stem`, `output_name`: `cells.ome.tif` -> `cells_mask.tif`), one
calibration rule (export_meta.py's `Calibration.of`: what the source image has, nothing
invented), and one table of writers keyed by what is written (`WRITERS`). Each writer is opened with
`(path, meta)` and fed one plane's prediction at a time, so a stack of any length is written
with a few planes in memory. The files of one image are written as a set (output_set.py).

Conventions of the field, so Fiji and napari read the files right:
- mask: the first class (background) is 0, class k is k - 1; uint8; the class names are
  ImageJ properties "class 0", "class 1", ... (Fiji: Image > Show Info; `unet-studio info`).
- probabilities: float32, one channel per class, in the class order.
- instances: 0 = not an object, 1..n one per object in each plane; uint16 (uint32 past 65,535).
- objects: a CSV, one row per object (id as in the instances file, t, z, area in px and, when
  calibrated, in µm², centroid, bounding box, diameter, intensities, confidence); rois: the same
  objects as an ImageJ ROI set (.zip).
- calibration: pixel size (y and x apart), unit and Z spacing only when the source has them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from unet_studio.core.errors import UnetStudioError
from unet_studio.core.stack import scene_stem
from unet_studio.workflow.export_meta import OME_ZARR, TIFF, ExportMeta, class_properties
from unet_studio.workflow.export_objects import ObjectOutlines, ObjectsTable
from unet_studio.workflow.objects_in_parts import ObjectsWindow

MASK = "mask"
PROBABILITIES = "probabilities"
INSTANCES = "instances"
OBJECTS = "objects"     # a CSV table, one row per object (workflow/object_table.py)
ROIS = "rois"           # an ImageJ ROI set (.zip) for Fiji's ROI Manager
KINDS = (MASK, PROBABILITIES, INSTANCES, OBJECTS, ROIS)  # the order of a set's files
ENDINGS = {OBJECTS: ".csv", ROIS: ".zip"}   # the others are images: TIFFs or OME-Zarr
FORMAT_ENDINGS = {TIFF: ".tif", OME_ZARR: ".ome.zarr"}


class OutputError(UnetStudioError):
    """An output file or folder that cannot be written, or that would replace an input."""


def stack_stem(stack) -> str:
    """The name the outputs of an open image (core/stack.py Stack) start with: `cells`,
    `plate_scene3` for a scene of a file of several."""
    name = stack.path.name if stack.scene is not None and stack.path else (stack.name or "untitled")
    return scene_stem(name, stack.scene)


def output_name(stem: str, what: str, format: str = TIFF) -> str:
    """`<stem>_mask.tif`, `<stem>_probabilities.tif`, `<stem>_instances.tif`,
    `<stem>_objects.csv`, `<stem>_rois.zip`; `<stem>_mask.ome.zarr`, ... in OME-Zarr."""
    if what not in KINDS:
        raise ValueError(f"unknown output {what!r}")
    if format not in FORMAT_ENDINGS:
        raise ValueError(f"unknown format {format!r}")
    return f"{stem}_{what}{ENDINGS.get(what, FORMAT_ENDINGS[format])}"


def _image_file(path: Path, meta: ExportMeta, shape, axes: str, dtype, *, averaged: bool = False,
                classes: list[str] | None = None):
    """The file of one image output in the export's format, filled plane by plane. classes:
    the names of a mask's values, kept in the file (and the display range of a TIFF);
    averaged: probabilities (an OME-Zarr's pyramid averages them)."""
    if meta.format == OME_ZARR:
        from unet_studio.workflow.export_zarr import ZarrPlanes

        return ZarrPlanes(path, shape, axes, dtype, meta.calibration, averaged=averaged, classes=classes,
                          reopen=meta.reopen, source=meta.source)
    if meta.reopen:
        raise ValueError("only OME-Zarr images are written by several processes")
    from unet_studio.core.tiff_writer import TiffPlanes

    extra = {"display_max": len(classes) - 1} if classes else {}
    properties = {**(class_properties(classes) if classes else {}), **meta.source}
    return TiffPlanes(path, shape, axes, dtype, meta.calibration.tiff_metadata(properties=properties or None, **extra))


def _open_mask(path: Path, meta: ExportMeta):
    dtype = np.uint8 if len(meta.classes) <= 256 else np.uint16
    return _image_file(path, meta, meta.shape, meta.axes, dtype, classes=meta.classes)


def _mask_plane(prediction) -> np.ndarray:
    return prediction.mask - 1  # predictions hold class k as k (label values); files as k - 1


def _open_probabilities(path: Path, meta: ExportMeta):
    shape = meta.shape[:-2] + (len(meta.classes),) + meta.shape[-2:]
    return _image_file(path, meta, shape, meta.axes[:-2] + "CYX", np.float32, averaged=True)


def _open_instances(path: Path, meta: ExportMeta):
    # A TIFF widens itself past 65,535 objects; an OME-Zarr is uint32 from the start (its
    # chunks are compressed, so the room costs little), and so is a plane written in parts
    # (a file cannot widen in the middle of a plane).
    dtype = np.uint32 if meta.format == OME_ZARR or meta.in_parts else np.uint16
    return _image_file(path, meta, meta.shape, meta.axes, dtype)


@dataclass
class _Predicted:
    """A prediction (ml/predict.py's Prediction) as the writers of masks and probabilities read it."""
    prediction: Any

    @property
    def mask(self) -> np.ndarray:
        return self.prediction.mask

    @property
    def probabilities(self) -> np.ndarray:
        return self.prediction.probabilities


@dataclass
class PredictedPlane(_Predicted):
    """One predicted (t, z) plane as the writers take it: the prediction, the image plane it was
    made from ((C, Y, X) or (Y, X)), and its objects, found once for every file that needs them."""
    image: np.ndarray | None = None
    t: int = 0
    z: int = 0
    _objects: dict = field(default_factory=dict, repr=False)

    def objects(self, meta: ExportMeta) -> np.ndarray:
        """The objects of the export's class and size, grown into its border class if any: found
        in this plane, or this plane's slice of 3-D objects (set_objects)."""
        key = self._key(meta)
        if key not in self._objects:
            if meta.objects_3d:
                raise ValueError("3-D objects are found across the slices (objects_3d.joined_across_slices)")
            self._objects[key] = self.prediction.instances(meta.object_class, meta.object_size,
                                                           meta.border_class)
        return self._objects[key]

    def set_objects(self, meta: ExportMeta, labels: np.ndarray) -> None:
        """This plane's objects, found elsewhere (its slice of objects that span the slices)."""
        self._objects[self._key(meta)] = labels

    @staticmethod
    def _key(meta: ExportMeta) -> tuple:
        return meta.object_class, meta.object_size, meta.border_class, meta.objects_3d


@dataclass
class PredictedPart(_Predicted):
    """A complete part, `rows` x `cols`, of a (t, z) plane too large to predict whole, as the
    writers of masks and probabilities take it (`put`); `last`: the plane is complete."""
    rows: slice
    cols: slice
    last: bool

    @classmethod
    def of(cls, part) -> "PredictedPart":
        """From predict_planes' PlanePart (ml/predict.py)."""
        return cls(part.prediction, part.rows, part.cols, part.last)


def _put_part(plane: Callable[[Any, ExportMeta], np.ndarray]):
    """How masks and probabilities take a plane too large to hold: its PredictedParts."""
    def put(file, item, meta: ExportMeta) -> None:
        if isinstance(item, PredictedPart):
            file.put(plane(item, meta), item.rows, item.cols, item.last)
    return put


def _merge_window(file, item, meta: ExportMeta) -> None:
    """Instances of a plane too large to hold: each ObjectsWindow's objects, where no earlier
    window's object is."""
    if isinstance(item, ObjectsWindow):
        earlier = file.get(item.rows, item.cols)
        file.put(np.where(earlier == 0, item.objects, earlier), item.rows, item.cols, item.last)


def _add_window(file, item, meta: ExportMeta) -> None:
    """The object table and ROIs of a plane too large to hold: each ObjectsWindow's objects."""
    if isinstance(item, ObjectsWindow):
        file.add_window(item)


@dataclass(frozen=True)
class Writer:
    """How one kind of output is written: `open(path, meta)` gives a file that takes one
    (t, z) block at a time (`append`), and `plane(prediction, meta)` makes that block;
    `part(file, item, meta)` writes what it takes of a plane too large to hold (a
    PredictedPart, or an ObjectsWindow of workflow/objects_in_parts.py) and ignores the rest.
    `title`, `tip` and `file_type` are what the app's File > Export item and its save dialog
    say (the app's menu is made from this table)."""
    open: Callable[[Path, ExportMeta], Any]
    plane: Callable[[Any, ExportMeta], np.ndarray]
    part: Callable[[Any, Any, ExportMeta], None]
    title: str
    tip: str = ""
    file_type: str = "TIFF images"


def _mask_block(p, meta: ExportMeta) -> np.ndarray:
    return _mask_plane(p)


def _probabilities_block(p, meta: ExportMeta) -> np.ndarray:
    return p.probabilities


WRITERS: dict[str, Writer] = {
    MASK: Writer(_open_mask, _mask_block, _put_part(_mask_block),
                 "&masks", "Predict every plane and save the masks as a TIFF for Fiji/napari"),
    PROBABILITIES: Writer(_open_probabilities, _probabilities_block, _put_part(_probabilities_block),
                          "&probabilities", "One float channel per class"),
    INSTANCES: Writer(_open_instances, lambda p, meta: p.objects(meta), _merge_window,
                      "&instance labels",
                      "One number per object of the Objects panel's class (touching objects split)"),
    OBJECTS: Writer(ObjectsTable, lambda p, meta: p, _add_window, "objects &table (CSV)",
                    "One row per object of the Objects panel's class, in every plane", "CSV tables"),
    ROIS: Writer(ObjectOutlines, lambda p, meta: p, _add_window, "objects as ImageJ &ROIs (.zip)",
                 "Object outlines for Fiji's ROI Manager", "ImageJ ROI sets"),
}
NEEDS_OBJECT_CLASS = (INSTANCES, OBJECTS, ROIS)   # these split one class into objects


def file_filter(what: str) -> str:
    """The save dialog's filter for an output kind: "TIFF images (*.tif *.tiff)"."""
    ending = ENDINGS.get(what, ".tif")
    patterns = "*.tif *.tiff" if ending == ".tif" else f"*{ending}"
    return f"{WRITERS[what].file_type} ({patterns})"


def write_item(what: str, file, item, meta: ExportMeta) -> None:
    """Hand one predicted item to the file of kind `what`: a whole (t, z) plane, or what the file
    takes of a plane too large to hold (a PredictedPart, an ObjectsWindow)."""
    if isinstance(item, (PredictedPart, ObjectsWindow)):
        WRITERS[what].part(file, item, meta)
    else:
        file.append(WRITERS[what].plane(item, meta))


@dataclass
class ExportStep:
    """Progress of an export: the fraction done; `written` holds the paths at the end."""
    fraction: float
    written: list[Path] | None = None


def write_planes(predictions: Iterable[Any], targets: dict[str, Path], meta: ExportMeta) -> Iterator[ExportStep]:
    """Write `targets` (what -> path) from `predictions`: per (t, z) plane in order, an object
    with `.mask` (values 1..K) and, for the other kinds, a PredictedPlane; or, for a plane too
    large to hold, its PredictedParts and the ObjectsWindows of its objects (Writer.part);
    ExportStep items only report progress (their `fraction`). The files appear together at the
    end; stopping the generator early leaves the old files as they were."""
    from unet_studio.workflow.output_set import OutputSet, recover

    if any(what in targets for what in NEEDS_OBJECT_CLASS) and not meta.object_class:
        raise ValueError("instances need the class whose objects to split")
    ordered = {what: Path(targets[what]) for what in KINDS if what in targets}
    recover(next(iter(ordered.values())).parent)
    outputs = OutputSet(ordered)
    files = {}
    try:
        for what, tmp in outputs.temps.items():
            files[what] = WRITERS[what].open(tmp, meta)
        for item in predictions:
            if isinstance(item, ExportStep):
                yield item
                continue
            for what, file in files.items():
                write_item(what, file, item, meta)
        for file in files.values():
            file.close()
            if file.count != file.n_blocks:
                raise ValueError(f"{file.count} of {file.n_blocks} planes were predicted")
    except BaseException:
        for file in files.values():
            file.close()
        outputs.discard()
        raise
    # From here on the set is complete: a failure leaves it for the next run to finish.
    try:
        written = outputs.commit()
    except OSError as e:
        raise OutputError(f"{outputs.targets[next(iter(ordered))].parent}: cannot write the files "
                          f"({e.strerror or e})") from e
    yield ExportStep(1.0, written)


@dataclass(frozen=True)
class PredictionOptions:
    """How an image is predicted into its files, besides the model and where they go: one
    object `predict_to_files` takes and the CLI, batches, the cluster and the app pass on.
    views: mirrored views averaged (None: the default); object_class: the class split into objects
    (for instances, the table, ROIs); object_size: the objects' diameter in px (None: measured in
    each plane); format: TIFF or OME_ZARR images; objects_3d: objects span a Z stack's slices."""

    views: int | None = None
    object_class: int | None = None
    object_size: float | None = None
    format: str = TIFF
    objects_3d: bool = False


def prepared(model, options: PredictionOptions = PredictionOptions(), device: Any = None):
    """`model`'s network prepared for prediction (ml/tiling.py's InferenceNet) with the options'
    views, once for the images of a batch (a copy of the network, folded and converted, per
    image costs more than a small image's prediction)."""
    from unet_studio.ml.tiling import prepare_inference

    return prepare_inference(model.net, device, **({"views": options.views} if options.views else {}))


def predict_to_files(model, stack, targets: dict[str, Path],
                     options: PredictionOptions = PredictionOptions(), *,
                     device: Any = None, inference=None) -> Iterator[ExportStep]:
    """Predict every plane of `stack` with `model` and write `targets` (what -> path) as a set;
    yields ExportStep progress, the last one with the written paths. Stop iterating to cancel:
    nothing is written then. With options.objects_3d, VolumeTooLarge before any work where a
    time point does not fit in memory. inference: `model` prepared for prediction
    (`prepared`), shared by the images of a batch."""
    from unet_studio.ml.predict import predict_planes

    from unet_studio.core.errors import ModelError

    object_class = options.object_class
    if any(what in targets for what in NEEDS_OBJECT_CLASS) and not (
            object_class and 1 <= object_class <= model.n_classes):
        raise ModelError(f"class {object_class} does not exist in this model (1..{model.n_classes})")
    _refuse_replacing_the_source(stack, targets)
    how = {"views": options.views} if options.views else {}
    if inference is not None:
        how["inference"] = inference
    meta = ExportMeta.of(stack, model.classes, object_class, options.object_size, options.format,
                         options.objects_3d)
    objects = any(what in targets for what in NEEDS_OBJECT_CLASS)
    joined = meta.objects_3d and objects
    if joined:
        from unet_studio.workflow.objects_3d import check_fits, joined_across_slices

        check_fits(meta.shape, model.n_outputs)

    def planes():
        for step in predict_planes(model, stack, device=device, in_parts=not objects, **how):
            if step.part is not None:
                yield PredictedPart.of(step.part)
            elif step.prediction is not None:
                t, z = step.plane
                image = step.image if OBJECTS in targets else None
                yield PredictedPlane(step.prediction, image, t, z)
            yield ExportStep(step.fraction)

    if joined:
        predicted = joined_across_slices(planes(), meta, stack.n_z)
    elif objects and stack.read_in_parts:
        from unet_studio.workflow.objects_in_parts import objects_in_parts

        predicted = objects_in_parts(predict_planes(model, stack, device=device, in_parts=True, **how),
                                     stack, meta, Path(next(iter(targets.values()))).parent,
                                     image=OBJECTS in targets, part_item=PredictedPart.of, progress=ExportStep)
    else:
        predicted = planes()
    yield from write_planes(predicted, targets, meta)


@dataclass
class _HeldPlane:
    mask: np.ndarray


def held_masks_to_file(result, stack, classes, path: str | Path) -> list[Path]:
    """Write the masks of a StackPrediction already in memory (the app's predict-all result)."""
    from unet_studio.ml.predict import plane_index

    _refuse_replacing_the_source(stack, {MASK: Path(path)})
    meta = ExportMeta.of(stack, classes)
    planes = (_HeldPlane(result.mask[plane_index(result.axes, t, z)])
              for t in range(stack.n_t) for z in range(stack.n_z))
    steps = list(write_planes(planes, {MASK: Path(path)}, meta))
    return steps[-1].written


def _refuse_replacing_the_source(stack, targets: dict[str, Path]) -> None:
    source = getattr(stack, "path", None)
    if source is None:
        return
    for target in targets.values():
        if Path(target).resolve() == Path(source).resolve():
            raise OutputError(f"{Path(target).name} is the image itself; export to another name")
