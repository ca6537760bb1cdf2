"""`unet-studio train` and `unet-studio predict`: argument definitions and runners.

Importing this module must stay cheap (`unet-studio --version` and `info` on an image import
it indirectly or not at all): torch and the engine are imported inside the run functions.
Problems the user can fix are raised as UnetStudioError subclasses; cli.py prints them as one
line and exits with code 2.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from unet_studio.core.errors import TrainingInputError, UnetStudioError

DEFAULT_TIME = 60.0          # seconds of training when neither --time nor --steps is given
CHECKPOINT_EVERY = 60.0      # seconds between periodic saves of the model being trained
_TIFF_ENDINGS = (".ome.tiff", ".ome.tif", ".tiff", ".tif", ".btf", ".tf8", ".tf2")


class OutputError(UnetStudioError):
    """An output file or folder that cannot be written."""


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="images to train on (TIFF, ...)")
    parser.add_argument("--labels", nargs="+", required=True, metavar="LABELS",
                        help="one labels TIFF per image, shaped like the image without channels; "
                             "0 = unlabeled, k = class k")
    parser.add_argument("--out", required=True, metavar="MODEL", help="model file to write (e.g. model.pt)")
    parser.add_argument("--time", type=float, default=None, metavar="SECONDS",
                        help=f"training time (default {DEFAULT_TIME:g} s when --steps is not given)")
    parser.add_argument("--steps", type=int, default=None, metavar="N", help="number of training steps")
    parser.add_argument("--init", default=None, metavar="MODEL", help="fine-tune this model instead of "
                        "starting from scratch")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--seed", type=int, default=None, help="random seed (same seed and --steps: same model)")
    parser.add_argument("--checkpoint-every", type=float, default=CHECKPOINT_EVERY, metavar="SECONDS",
                        help=f"save the model being trained this often (default {CHECKPOINT_EVERY:g} s)")


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by train or the app")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for <name>_mask.tif (and _instances.tif, _probabilities.tif)")
    parser.add_argument("--probabilities", action="store_true",
                        help="also write class probabilities (float32, classes along C)")
    parser.add_argument("--instances", action="store_true",
                        help="also write one label per object of the object class")
    parser.add_argument("--object-class", type=int, default=None, metavar="K",
                        help="class whose objects --instances separates (default: the first class "
                             "after 1 not named background)")
    parser.add_argument("--views", type=int, default=None, choices=range(1, 5), metavar="N",
                        help="mirrored views of each tile averaged, 1-4 (default 4; 1 is 4x faster, "
                             "a little less accurate)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])


class _Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self._last = 0.0

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if self.live and (force or now - self._last > 0.1):
            self._last = now
            sys.stderr.write("\r\033[K" + text)
            sys.stderr.flush()

    def finish(self, text: str) -> None:
        if self.live:
            sys.stderr.write("\r\033[K")
        print(text, file=sys.stderr)


def _bar(fraction: float, width: int = 24) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def run_train(args: argparse.Namespace) -> int:
    from unet_studio.core.labels import LabelVolume
    from unet_studio.core.stack import open_stack
    from unet_studio.ml.model_file import class_dicts, load_model, save_model
    from unet_studio.ml.train import TrainConfig, train

    if len(args.labels) != len(args.images):
        raise TrainingInputError(f"{len(args.images)} image(s) but {len(args.labels)} labels file(s): "
                                 "give one --labels file per image, in the same order")
    if args.steps is not None and args.steps < 1:
        raise TrainingInputError("--steps must be at least 1")
    if args.time is not None and args.time <= 0:
        raise TrainingInputError("--time must be more than 0 seconds")
    out = Path(args.out)
    if out.is_dir():
        raise OutputError(f"--out {out} is a folder; give a model file name such as {out / 'model.pt'}")
    if not out.parent.exists():
        raise OutputError(f"folder {out.parent} does not exist")
    stacks = [open_stack(p) for p in args.images]
    labels = [LabelVolume.load(p, expect_shape=tuple(s.label_shape)) for p, s in zip(args.labels, stacks)]
    init = load_model(args.init) if args.init else None
    classes = max((lab.classes for lab in labels), key=len)
    if init is not None and init.n_classes == len(classes):
        classes = init.classes
    time_budget = args.time
    if time_budget is None and args.steps is None:
        time_budget = DEFAULT_TIME
    config = TrainConfig(time_budget=time_budget, steps=args.steps, seed=args.seed, device=args.device)
    generator = train(stacks, labels, class_dicts(classes), config, init=init,
                      should_stop=_StopOnCtrlC.requested)
    progress_line = _Progress()
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
    if progress is None:
        raise TrainingInputError("training produced no model")
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


def _stem(path: Path) -> str:
    name = path.name
    for ending in _TIFF_ENDINGS + (".png", ".jpg", ".jpeg"):
        if name.lower().endswith(ending):
            return name[: -len(ending)]
    return name


def default_object_class(classes: list[dict]) -> int:
    """The class whose objects get instance labels: the first after class 1 not called
    background (class 1 being background by convention), else 2."""
    for k, c in enumerate(classes, start=1):
        if k > 1 and c["name"].strip().lower() != "background":
            return k
    return min(2, len(classes))


def run_predict(args: argparse.Namespace) -> int:
    from unet_studio.core.stack import open_stack
    from unet_studio.core.tiff_writer import write_mask
    from unet_studio.ml.device import pick_device
    from unet_studio.ml.model_file import load_model
    from unet_studio.ml.predict import predict_stack

    device = pick_device(args.device)
    model = load_model(args.model, device)
    object_class = args.object_class or default_object_class(model.classes)
    if not 1 <= object_class <= model.n_classes:
        raise TrainingInputError(f"--object-class {object_class}: the model has classes 1..{model.n_classes}")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {out}: {e.strerror or e}") from None
    # Open everything first: a bad file fails before any time is spent.
    stacks = [open_stack(p) for p in args.images]
    for path, stack in zip(args.images, stacks):
        if stack.n_c != model.in_channels:
            raise TrainingInputError(f"{Path(path).name} has {stack.n_c} channel(s), the model expects "
                                     f"{model.in_channels}")
    progress_line = _Progress()
    for i, (path, stack) in enumerate(zip(args.images, stacks), start=1):
        started = time.perf_counter()
        result = None
        for step in predict_stack(model, stack, device=device, probabilities=args.probabilities,
                                  instances_class=object_class if args.instances else None,
                                  **({"views": args.views} if args.views else {})):
            progress_line.show(f"predicting {stack.name} ({i}/{len(stacks)}) {_bar(step.fraction)} "
                               f"{step.fraction * 100:3.0f} %")
            result = step.result
        stem = _stem(Path(path))
        # An unknown scale stays unknown (no unit), so Fiji does not show a made-up 1 um.
        meta = dict(pixel_size=stack.pixel_size, z_spacing=stack.z_spacing, unit=stack.unit or "")
        written = [out / f"{stem}_mask.tif"]
        write_mask(written[0], result.mask, result.axes, **meta)
        if args.instances:
            written.append(out / f"{stem}_instances.tif")
            write_mask(written[-1], result.instances, result.axes, **meta)
        if args.probabilities:
            written.append(out / f"{stem}_probabilities.tif")
            write_mask(written[-1], result.probabilities, result.probability_axes, **meta)
        progress_line.finish(f"{stack.name}: {time.perf_counter() - started:.1f} s -> "
                             + ", ".join(str(p) for p in written))
        stack.close()
    return 0


def describe_model(path: str) -> str:
    """Text for `unet-studio info MODEL`: classes and architecture. Raises ModelError."""
    from unet_studio.ml.model_file import describe_model as describe

    return describe(path)
