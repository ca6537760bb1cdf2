"""The `unet-studio` command.

    unet-studio [IMAGE ...]          open the app (the start view when no image is given)
    unet-studio info FILE            what is in an image or a model file
    unet-studio train ...            train a model from images and label files, no window
    unet-studio predict ...          write masks for images with a trained model

torch and Qt are imported only by the commands that need them, so `--version` and `info` on an
image stay fast and work on a machine without a display. A problem the user can fix ends in
one line `unet-studio: error: ...` on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
import zipfile
from pathlib import Path

from unet_studio import __version__
from unet_studio.core.errors import UnetStudioError

PROG = "unet-studio"
# command -> (module, function that adds its arguments, function that runs it, description)
COMMANDS = {
    "train": ("unet_studio.cli_train", "add_train_arguments", "run_train",
              "Train a model from images and label files, without the window."),
    "predict": ("unet_studio.cli_predict", "add_predict_arguments", "run_predict",
                "Write masks (and objects, probabilities) for images with a trained model."),
    "export-bioimageio": ("unet_studio.cli_bioimageio", "add_export_arguments", "run_export",
                          "Write a model as a bioimage.io package (ilastik, deepImageJ, Fiji, napari)."),
}
MODEL_SUFFIXES = (".pt", ".pth", ".unet")


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default sys.argv[1:]); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # A positional IMAGE and subcommands cannot share one argparse parser (an image called
        # "info" aside), so the first word decides which parser reads the line.
        if argv and (argv[0] in COMMANDS or argv[0] == "info"):
            return _run_command(argv)
        return _run_app(argv)
    except UnetStudioError as error:
        return _fail(str(error))
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Paint a few labels on a microscopy image, train a U-Net live, "
                    "export masks.",
        epilog="commands:\n"
               "  info FILE        show the axes, shape, pixel type and scale of an image\n"
               "                   (or the classes and architecture of a model file)\n"
               "  train ...        train a model without the window (train --help)\n"
               "  predict ...      write masks with a trained model (predict --help)\n"
               "  export-bioimageio ...  a model as a bioimage.io package (export-bioimageio --help)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="image files to open (TIFF, OME-TIFF, PNG, JPEG, or a folder "
                             "of TIFFs)")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def _command_parser(command: str) -> argparse.ArgumentParser:
    """Parser for one command; the commands of COMMANDS load their argument definitions from
    their own module (cli_train.py, cli_predict.py, ...)."""
    parser = argparse.ArgumentParser(prog=f"{PROG} {command}")
    if command == "info":
        parser.description = ("Show the axes, shape, pixel type, pixel size and file size "
                              "of an image, or the classes and architecture of a model file.")
        parser.add_argument("file", metavar="FILE", help="a TIFF/PNG/JPEG image, a folder of "
                            "TIFFs, or a model file (.unet/.pt)")
        return parser
    module, add_arguments, _, parser.description = COMMANDS[command]
    getattr(importlib.import_module(module), add_arguments)(parser)
    return parser


def _run_app(argv: list[str]) -> int:
    args = _app_parser().parse_args(argv)
    for given in args.images:
        if not Path(given).exists():
            raise UnetStudioError(_not_there(given))
    if sys.platform.startswith("linux") and not any(
            os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise UnetStudioError("there is no display to open the window on (DISPLAY is not set): over "
                              "ssh use ssh -X, or the commands that need none: train, predict, info")
    from unet_studio.gui.app import run

    return run(list(args.images))


def _not_there(given: str) -> str:
    """What to say of a word that is neither a file nor a command: a command's name mistyped,
    or a file that is not there."""
    import difflib

    names = [*COMMANDS, "info"]
    close = difflib.get_close_matches(given, names, n=1, cutoff=0.75)
    if close:
        return f"unknown command {given!r}: did you mean {close[0]}?"
    if not Path(given).suffix and "/" not in given and "\\" not in given:
        return f"{given}: no such file, nor a command ({', '.join(names)})"
    return f"{given}: no such file"


def _run_command(argv: list[str]) -> int:
    command = argv[0]
    args = _command_parser(command).parse_args(argv[1:])
    if command == "info":
        return run_info(args.file)
    module, _, run, _ = COMMANDS[command]
    return getattr(importlib.import_module(module), run)(args)


def run_info(path: str) -> int:
    """Print what is in `path`; a bad file ends in one error line and exit code 2."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = describe_file(path)
    except UnetStudioError as error:
        return _fail(str(error))
    except Exception as error:  # noqa: BLE001 - promise: never a traceback for a bad file
        detail = " ".join(str(error).split()) or type(error).__name__
        return _fail(f"{path}: cannot read the file ({detail[:200]})")
    print(text)
    return 0


def describe_file(path: str) -> str:
    """Text for `unet-studio info`: several 'name: value' lines."""
    if _looks_like_model(Path(path)):
        from unet_studio.ml.model_file import describe_model
        from unet_studio.workflow.bioimageio_load import is_bioimageio_package, load_bioimageio_package

        if is_bioimageio_package(path):   # one that unet-studio exported
            return describe_model(path, load_bioimageio_package(path))
        return describe_model(path)
    from unet_studio.core.stack import open_stack

    with open_stack(path) as stack:
        lines = [
            ("file", f"{stack.path} ({human_size(_disk_size(Path(path)))})"),
            ("axes", stack.axes),
            ("shape", " x ".join(str(n) for n in stack.shape)
             + "   (" + ", ".join(f"{a}={n}" for a, n in zip(stack.axes, stack.shape)) + ")"),
            ("dtype", stack.dtype.name),
            ("pixel size", _pixel_size_text(stack)),
            ("z spacing", f"{stack.z_spacing:g} {stack.unit}".strip()
             if stack.z_spacing else "unknown"),
        ]
        if stack.channel_names:
            lines.append(("channels", ", ".join(f"c{c + 1} = {name}" for c, name in enumerate(stack.channel_names))))
        classes = _class_names(path)
        if classes:
            lines.append(("classes", ", ".join(f"{k} = {name}" for k, name in enumerate(classes))))
        from unet_studio.workflow.export_meta import source_in

        source = source_in(path)   # an output of predict or the app: the image it came from
        if source:
            lines.append(("predicted from", source["source"] + (f", scene {source['source scene']}"
                                                                if "source scene" in source else "")))
        if stack.axes_note:
            lines.append(("note", stack.axes_note))
    width = max(len(name) for name, _ in lines) + 2
    return "\n".join(f"{name + ':':<{width}}{value}" for name, value in lines)


def human_size(n_bytes: int) -> str:
    """'512 B', '3.4 kB', '12.0 MB', '4.3 GB' (powers of 1000, like file managers)."""
    size = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _pixel_size_text(stack) -> str:
    if not stack.pixel_size:
        return "unknown"
    y, x = stack.pixel_size
    unit = f" {stack.unit}" if stack.unit else ""
    if abs(y - x) <= 1e-9 * max(abs(x), 1e-30):
        return f"{x:g}{unit}"
    return f"{y:g} (y) x {x:g} (x){unit}"


def _class_names(path: str) -> list[str] | None:
    """The class of each value of a mask exported by unet_studio, if it says."""
    from unet_studio.workflow.export_meta import class_names_in

    try:
        return class_names_in(path)
    except Exception:  # noqa: BLE001 - the image opened; odd metadata only hides the names
        return None


def _disk_size(path: Path) -> int:
    if path.is_dir():   # a folder of TIFFs, or an OME-Zarr with its chunks in sub-folders
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _looks_like_model(path: Path) -> bool:
    if path.suffix.lower() in MODEL_SUFFIXES:
        return True
    # torch.save writes a zip archive whatever the file is called.
    return path.is_file() and zipfile.is_zipfile(path)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2
