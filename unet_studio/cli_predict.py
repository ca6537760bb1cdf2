"""`unet-studio predict`: argument definitions and the runner.

Importing this module must stay cheap (`unet-studio --help` imports it): torch and the engine
are imported inside `run_predict`. Problems the user can fix are raised as UnetStudioError
subclasses; cli.py prints them as one line and exits with code 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from unet_studio.cli_progress import Progress, bar
from unet_studio.core.class_templates import object_class as default_object_class
from unet_studio.core.errors import ModelError, TrainingInputError


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by train or the app")
    parser.add_argument("images", nargs="+", metavar="PATH",
                        help="images to segment (TIFF stacks of any axes, CZI, PNG, JPEG): files, folders "
                             "(each image in them, predicted on its own) or quoted glob patterns "
                             "such as 'plate*/*.tif'; every plane of each image is predicted")
    parser.add_argument("--recursive", action="store_true",
                        help="also the images in the sub-folders of a folder (their files go to the "
                             "same sub-folders of --out)")
    parser.add_argument("--as-stack", action="store_true",
                        help="a folder is one stack of slices (one image file per slice), not many images")
    parser.add_argument("--overwrite", action="store_true",
                        help="predict images again whose files are already in --out (default: skip them)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for <name>_mask.tif (and _instances.tif, _probabilities.tif); "
                             "two images of the same name get <name>-2_mask.tif, ...")
    parser.add_argument("--format", choices=["tiff", "ome-zarr"], default="tiff",
                        help="the images' format: TIFF (default) or OME-Zarr (<name>_mask.ome.zarr, ..., "
                             "chunked, with a pyramid, for napari, Fiji's MoBIE / BigDataViewer and "
                             "webKnossos; needs pip install 'unet_studio[zarr]')")
    parser.add_argument("--probabilities", action="store_true",
                        help="also write class probabilities (float32, classes along C)")
    parser.add_argument("--instances", action="store_true",
                        help="also write one label per object of the object class "
                             "(<name>_instances.tif) and a table of the objects, one row each "
                             "(<name>_objects.csv: area, centroid, diameter, intensity, ...)")
    parser.add_argument("--rois", action="store_true",
                        help="also write the objects' outlines as an ImageJ ROI set "
                             "(<name>_rois.zip, for Fiji's ROI Manager)")
    parser.add_argument("--objects-3d", action="store_true",
                        help="with --instances, in a Z stack: an object that spans slices keeps one id, and "
                             "the table has one row per object with its volume (slices taken as far apart "
                             "as the image's Z spacing says, as pixels where it has none); the default "
                             "finds each slice's objects on its own")
    parser.add_argument("--object-class", type=int, default=None, metavar="K",
                        help="class whose objects --instances separates (default: the first class after 1 "
                             "named like an object (nucleus, cell, ...), else the last that is not a border class)")
    parser.add_argument("--views", type=int, default=None, choices=range(1, 5), metavar="N",
                        help="mirrored views of each tile averaged, 1-4 (default 2; 1 is twice as fast, "
                             "a little less accurate; 4 is twice as slow, about as accurate)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="predict N images at once in N processes on this machine (a dask LocalCluster; "
                             "needs pip install 'unet_studio[cluster]')")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="predict on a dask.distributed cluster already running, e.g. tcp://host:8786 "
                             "(SLURM, PBS, Kubernetes: see the README's 'Larger data'); every worker must "
                             "see the images and --out at the same paths")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                        help="where to compute (default auto: a GPU when there is one, else the CPU)")


def run_predict(args: argparse.Namespace) -> int:
    from unet_studio.ml.device import pick_device
    from unet_studio.ml.model_file import load_model
    from unet_studio.workflow.batch import check_writable_folder, plan_outputs
    from unet_studio.workflow.export import INSTANCES, KINDS, MASK, OBJECTS, PROBABILITIES, ROIS, PredictionOptions
    from unet_studio.workflow.image_paths import find_images
    from unet_studio.workflow.object_summary import write_summary

    if not args.out.strip() or any(not str(image).strip() for image in args.images):
        raise TrainingInputError("an empty path was given" + (" as --out" if not args.out.strip() else ""))
    if args.workers is not None and args.scheduler:
        raise TrainingInputError("--workers starts processes on this machine, --scheduler uses a cluster "
                                 "already running: give one of them")
    if args.objects_3d and not (args.instances or args.rois):
        raise TrainingInputError("--objects-3d joins the objects of --instances or --rois across slices: give one")
    wanted = {MASK: True, PROBABILITIES: args.probabilities, INSTANCES: args.instances,
              OBJECTS: args.instances, ROIS: args.rois}
    kinds = [k for k in KINDS if wanted[k]]
    images = find_images(args.images, recursive=args.recursive, as_stack=args.as_stack, out=args.out)
    plan = plan_outputs(images, args.out, kinds, protected=[args.model], format=args.format)
    device = pick_device(args.device)
    try:
        model = load_model(args.model, device)
    except ModelError as e:
        if str(e).endswith("is an image, not a model file"):   # MODEL and IMAGE swapped
            raise ModelError(f"{e}: give the model first (predict MODEL IMAGE ...)") from None
        raise
    object_class = (args.object_class if args.object_class is not None
                    else default_object_class([c["name"] for c in model.classes]))
    if not 1 <= object_class <= model.n_classes:
        raise TrainingInputError(f"--object-class {object_class}: the model has classes 1..{model.n_classes}")
    done = [item for item in plan if item.done and not args.overwrite]
    todo, failed = _readable([item for item in plan if item not in done], model)
    if failed and not todo and not done:
        raise TrainingInputError(failed[0] if len(failed) == 1 else f"none of the {len(failed)} images "
                                 f"can be predicted; the first: {failed[0]}")
    for reason in failed:
        print(f"unet-studio: failed: {reason}", file=sys.stderr)
    check_writable_folder(args.out)
    if args.workers is not None and args.workers < 1:
        raise TrainingInputError(f"--workers {args.workers}: give 1 or more")
    options = PredictionOptions(views=args.views, object_class=object_class, format=args.format,
                                objects_3d=args.objects_3d)
    if args.workers or args.scheduler:
        from unet_studio.workflow.cluster import predict_on_cluster

        steps = predict_on_cluster(args.model, todo, options, workers=args.workers, scheduler=args.scheduler)
    else:
        from unet_studio.workflow.batch import predict_images

        steps = predict_images(model, todo, options, device=device)
    written = _report(steps, todo, failed)
    counted = done + written   # not an image that failed now, whatever an earlier run left
    table = write_summary(counted, args.out) if args.instances and len(counted) > 1 else None
    summary = f"{len(written)} image{'s' if len(written) != 1 else ''} predicted"
    if done:
        summary += f", {len(done)} already done (--overwrite predicts them again)"
    if failed:
        summary += f", {len(failed)} failed (named above)"
    print(f"{summary}; files in {args.out}" + (f", counts per image in {table.name}" if table else ""),
          file=sys.stderr)
    return 1 if failed else 0


def _readable(plan: list, model) -> tuple[list, list[str]]:
    """The images of `plan` that open and fit the model, and one line for each that does not:
    checked before any work, so a bad file costs no time."""
    from unet_studio.core.errors import UnetStudioError

    good, failed = [], []
    for item in plan:
        try:
            with item.open() as stack:
                if stack.n_c != model.in_channels:
                    raise TrainingInputError(f"{item.name} has {stack.n_c} channel(s), the model "
                                             f"expects {model.in_channels}: train one on such images")
            good.append(item)
        except UnetStudioError as e:
            failed.append(str(e) if item.source.name in str(e) else f"{item.source}: {e}")
    return good, failed


def _report(steps, plan: list, failed: list[str]) -> list:
    """Show `steps` (BatchStep items over `plan`) as a progress line over images and planes;
    returns the items of `plan` written, adding a line to `failed` for each that failed."""
    progress_line = Progress()
    started = time.perf_counter()
    written = []
    for step in steps:
        name = plan[step.image].name
        if step.skipped:
            failed.append(step.skipped)
            progress_line.finish(f"unet-studio: failed: {step.skipped}")
        elif step.written:
            written.append(plan[step.image])
            progress_line.finish(f"{name}: {time.perf_counter() - started:.1f} s{_objects_in(plan[step.image])} -> "
                                 + ", ".join(str(p) for p in step.written))
            started = time.perf_counter()
        else:
            progress_line.show(f"predicting {name} ({step.image + 1}/{len(plan)}) {bar(step.fraction)} "
                               f"{step.fraction * 100:3.0f} %")
    return written


def _objects_in(item) -> str:
    """", 27 objects" where the image's object table was written (the rows of its CSV), else ""."""
    from unet_studio.workflow.export import OBJECTS
    from unet_studio.workflow.object_summary import read_table

    table = item.targets.get(OBJECTS)
    if table is None or not Path(table).is_file():
        return ""
    n = len(read_table(table).get("id", []))
    return f", {n} object{'s' if n != 1 else ''}"
