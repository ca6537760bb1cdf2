"""`unet-studio train`: argument definitions and the runner.

Importing this module must stay cheap (`unet-studio --help` imports it): torch and the engine
are imported inside `run_train`. Every check that needs no training runs before training.
Problems the user can fix are raised as UnetStudioError subclasses; cli.py prints them as one
line and exits with code 2.
"""
from __future__ import annotations

import argparse
import math
import signal
import time
from pathlib import Path

import numpy as np

from unet_studio.cli_progress import Progress
from unet_studio.core.errors import TrainingInputError
from unet_studio.workflow.batch import probe_writing, same_file
from unet_studio.workflow.export import OutputError

MAX_SEED = 2 ** 32 - 1       # what numpy's and torch's generators all take
DEFAULT_TIME = 60.0          # seconds of training when neither --time nor --steps is given
CHECKPOINT_EVERY = 60.0      # seconds between periodic saves of the model being trained


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="image files to train on (TIFF, OME-TIFF, PNG, CZI, ...), each with its --labels file")
    parser.add_argument("--labels", nargs="+", required=True, metavar="LABELS",
                        help="one labels TIFF per image, shaped like the image without channels; "
                             "0 = unlabeled, k = class k")
    parser.add_argument("--out", required=True, metavar="MODEL", help="model file to write (e.g. model.pt)")
    parser.add_argument("--time", type=float, default=None, metavar="SECONDS",
                        help=f"training time (default {DEFAULT_TIME:g} s when --steps is not given; with "
                             "both, training ends at whichever comes first)")
    parser.add_argument("--steps", type=int, default=None, metavar="N", help="number of training steps")
    parser.add_argument("--classes", type=int, default=None, metavar="N",
                        help="number of classes, when the labels files do not name them (the app's "
                             "do) and not every value 1..N is painted (values above N are refused)")
    parser.add_argument("--init", default=None, metavar="MODEL",
                        help="go on from this model (a model file, or a bioimage.io package exported "
                             "by unet-studio) instead of the built-in starting model")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                        help="where to compute (default auto: a GPU when there is one, else the CPU)")
    parser.add_argument("--seed", type=int, default=None, help=f"random seed, 0 to {MAX_SEED} (same seed and --steps: same model)")
    parser.add_argument("--checkpoint-every", type=float, default=CHECKPOINT_EVERY, metavar="SECONDS",
                        help=f"save the model being trained this often (default {CHECKPOINT_EVERY:g} s; 0: after "
                             "every step)")


def run_train(args: argparse.Namespace) -> int:
    from unet_studio.core.labels import LabelVolume
    from unet_studio.core.stack import open_stack
    from unet_studio.ml.model_file import class_dicts, save_model
    from unet_studio.ml.train import TrainConfig, train
    from unet_studio.workflow.bioimageio_load import load_model_or_package

    _check_arguments(args)
    out = _check_out(args)
    stacks = [open_stack(p) for p in args.images]
    for path, stack in zip(args.images, stacks):
        if stack.scenes > 1:   # which one the labels belong to, nothing here says
            raise TrainingInputError(f"{path} holds {stack.scenes} scenes (wells, positions): train on "
                                     "them in the app, where each is an image of its own")
    labels = [LabelVolume.load(p, expect_shape=tuple(s.label_shape)) for p, s in zip(args.labels, stacks)]
    init = load_model_or_package(args.init) if args.init else None
    classes = _classes(args, labels)
    if init is not None and init.n_classes == len(classes):
        classes = init.classes
    time_budget = args.time
    if time_budget is None and args.steps is None:
        time_budget = DEFAULT_TIME
    config = TrainConfig(time_budget=time_budget, steps=args.steps, seed=args.seed, device=args.device)
    generator = train(stacks, labels, class_dicts(classes), config, init=init,
                      should_stop=_StopOnCtrlC.requested)
    progress_line = Progress()
    budget = (f"{time_budget:g} s" if time_budget else "") + (" / " if time_budget and args.steps else "") \
        + (f"{args.steps} steps" if args.steps else "")
    last_save = time.monotonic()
    progress = None
    with _StopOnCtrlC():
        for progress in generator:
            if progress.message:
                progress_line.finish(f"note: {progress.message}")
            progress_line.show(f"training {budget}: step {progress.step}, loss {progress.loss:.4f}, "
                               f"{progress.elapsed:.0f} s, {progress.patches_per_s:.0f} patches/s, {progress.device}")
            if time.monotonic() - last_save > args.checkpoint_every and not progress.done:
                save_model(out, progress.model)
                last_save = time.monotonic()
    if progress is None or progress.step == 0:
        kept = f"{out} is as it was" if Path(out).exists() else "nothing was written"
        raise TrainingInputError(f"training stopped before its first step: {kept}")
    save_model(out, progress.model)
    stopped = " (stopped early)" if _StopOnCtrlC.was_requested else ""
    progress_line.finish(f"trained {progress.step} steps in {progress.elapsed:.0f} s on {progress.device}, "
                         f"final loss {progress.loss:.4f}{stopped}; model written to {out}")
    return 0


class _StopOnCtrlC:
    """While active, the first Ctrl-C asks training to stop after the current step (the model
    is then saved); a second one interrupts at once."""
    was_requested = False

    @classmethod
    def requested(cls) -> bool:
        return cls.was_requested

    def __enter__(self):
        _StopOnCtrlC.was_requested = False
        self._previous = None
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return self

    def _handle(self, signum, frame):
        if _StopOnCtrlC.was_requested:
            raise KeyboardInterrupt
        _StopOnCtrlC.was_requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _check_arguments(args: argparse.Namespace) -> None:
    if not args.images:   # --labels takes every file after it, images given there too
        raise TrainingInputError("no image given: put the images first, then --labels "
                                 "(train IMAGE ... --labels LABELS ... --out MODEL)")
    if len(args.labels) != len(args.images):
        raise TrainingInputError(f"{len(args.images)} image(s) but {len(args.labels)} labels file(s): "
                                 "give one --labels file per image, in the same order")
    if args.steps is not None and args.steps < 1:
        raise TrainingInputError("--steps must be at least 1")
    if args.time is not None and not (math.isfinite(args.time) and args.time > 0):
        raise TrainingInputError(f"--time {args.time:g}: give a number of seconds above 0")
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise TrainingInputError(f"--seed {args.seed}: give a whole number from 0 to {MAX_SEED}")
    if args.classes is not None and not 2 <= args.classes <= 255:
        raise TrainingInputError("--classes must be 2 to 255")
    if not math.isfinite(args.checkpoint_every) or args.checkpoint_every < 0:
        raise TrainingInputError("--checkpoint-every must be 0 or more seconds")


def _check_out(args: argparse.Namespace) -> Path:
    """The model file to write: never an input, in a folder we can write (checked now, not
    after training)."""
    out = Path(args.out)
    if out.is_dir():
        raise OutputError(f"--out {out} is a folder; give a model file name such as {out / 'model.pt'}")
    if not out.parent.exists():
        raise OutputError(f"folder {out.parent} does not exist")
    for given in list(args.images) + list(args.labels):
        if same_file(out, Path(given)):
            raise OutputError(f"--out {out} is one of the images or labels files; the model would "
                              "replace it")
    probe_writing(out)
    return out


def _classes(args: argparse.Namespace, labels: list) -> list:
    """The classes to train: those the labels files name, else --classes N, else 1..largest
    value when every value in between is painted (a stray value stops with what was found)."""
    from unet_studio.core.label_classes import generic_classes

    found = sorted(set().union(*(np.unique(lab.data).tolist() for lab in labels)) - {0})
    named = max((lab.classes for lab in labels), key=len)
    top = found[-1] if found else 0
    if args.classes is not None:
        if top > args.classes:
            raise TrainingInputError(f"the labels hold value {top}, above --classes {args.classes}")
        return named[:args.classes] if len(named) >= args.classes else generic_classes(args.classes)
    if any(_names_its_classes(p) for p in args.labels):
        return named
    if found != list(range(1, top + 1)):
        values = ", ".join(str(v) for v in found[:8]) + (f", ... ({len(found)} values)" if len(found) > 8 else "")
        instances = " (these look like objects numbered one by one, not classes)" if len(found) > 20 else ""
        raise TrainingInputError(f"the labels hold the values {values}: not every class 1..{top} is "
                                 f"painted{instances}; give --classes N to train N classes")
    return named


def _names_its_classes(path: str) -> bool:
    """Whether a labels file was written by unet_studio (the app), which names its classes."""
    import tifffile

    from unet_studio.core.label_file import SOFTWARE

    try:
        with tifffile.TiffFile(path) as tif:
            return tif.pages.first.software == SOFTWARE
    except Exception:  # noqa: BLE001 - read once already; a failure here means "no names"
        return False
