"""`unet-studio train` and `unet-studio predict`: argument definitions and runners.

Importing this module must stay cheap: torch is imported inside the run functions only.
(Placeholder written by the lead: the ML engine replaces the bodies.)
"""
from __future__ import annotations

import argparse


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--labels", nargs="+", required=True, metavar="LABELS")
    parser.add_argument("--out", required=True, metavar="MODEL")
    parser.add_argument("--time", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--steps", type=int, default=None, metavar="N")
    parser.add_argument("--init", default=None, metavar="MODEL")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--seed", type=int, default=None)


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--probabilities", action="store_true")
    parser.add_argument("--instances", action="store_true")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])


def run_train(args: argparse.Namespace) -> int:
    raise NotImplementedError


def run_predict(args: argparse.Namespace) -> int:
    raise NotImplementedError


def describe_model(path: str) -> str:
    """Text for `unet-studio info MODEL`: classes and architecture. Raises ModelError."""
    raise NotImplementedError
