"""`unet-studio export-bioimageio`: a model as a bioimage.io package, for ilastik, deepImageJ,
Fiji, napari and the model zoo (workflow/bioimageio.py). Importing this module is cheap: the
bioimage.io libraries are imported only when a package is written."""
from __future__ import annotations

import argparse


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by train or the app")
    parser.add_argument("--out", required=True, metavar="NAME.zip", help="the package to write")
    parser.add_argument("--image", required=True, metavar="IMAGE",
                        help="an image like those the model was trained on: a crop of it and the "
                             "model's answer become the package's test tensors and cover")
    parser.add_argument("--author", action="append", required=True, metavar="NAME",
                        help="an author of the model (repeat for several)")
    parser.add_argument("--name", default=None, help="the model's name (default: from MODEL's file name)")
    parser.add_argument("--license", default="CC-BY-4.0", help="an SPDX licence id (default CC-BY-4.0)")
    parser.add_argument("--description", default=None, help="one or two sentences on what it segments")


def run_export(args: argparse.Namespace) -> int:
    import sys

    from unet_studio.workflow.bioimageio import export_model_file

    written = export_model_file(args.model, args.out, image=args.image, authors=args.author,
                                name=args.name, license=args.license, description=args.description)
    print(f"bioimage.io package written: {written}", file=sys.stderr)
    return 0
