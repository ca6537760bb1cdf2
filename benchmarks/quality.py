"""Segmentation quality from scribbles: our U-Net (from scratch / from the starting model)
against the random forest, on the ISBI and DSB tasks of ../shared/data, over seeds.

    .venv/bin/python benchmarks/quality.py --tasks isbi dsb --seeds 0 1 2 \
        --inits starting scratch --times 15 30 60 120 --results /tmp/quality.jsonl
    .venv/bin/python benchmarks/quality.py --table /tmp/quality.jsonl

One training run per (task, init, seed), open-ended as in the app (no time budget, so no
schedule that knows the end): the model is copied when 15, 30, 60 and 120 s of training have
passed, and each copy is scored afterwards (scoring time does not count as training). That
is what a user sees who watches the live preview and presses Stop at that moment.
Each finished run is appended to the results file as one JSON line, so a long benchmark can
be stopped and its table printed from what is there.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_tasks import DEFAULT_DATA, TASKS, Task, forest_masks, instance_f1, pixel_scores  # noqa: E402


def score(task: Task, masks: list[np.ndarray], instances: list[np.ndarray] | None) -> dict:
    scores = pixel_scores(task, masks)
    if task.eval_instances is not None and instances is not None:
        scores["instance_f1"] = instance_f1(task, instances)
    return {k: round(float(v), 4) for k, v in scores.items()}


def run_forest(task: Task, seed: int) -> dict:
    start = time.perf_counter()
    masks = forest_masks(task, seed=seed)
    return {"method": "forest", "seed": seed, "seconds": round(time.perf_counter() - start, 1),
            "scores": score_forest(task, masks)}


def score_forest(task: Task, masks: list[np.ndarray]) -> dict:
    """Scores of the forest's class masks (objects found by ml/objects.py from the mask alone)."""
    from unet_studio.ml.predict import split_instances
    instances = [split_instances(m == task.object_class) for m in masks] if task.eval_instances else None
    return score(task, masks, instances)


_TRAINER = "unet_studio.ml.train"


def _trainer():
    import importlib
    return importlib.import_module(_TRAINER)


def _config(init: str, seed: int, options: dict):
    TrainConfig = _trainer().TrainConfig
    fields = TrainConfig.__dataclass_fields__
    kwargs = {k: v for k, v in options.items() if k in fields}
    if "starting_model" in fields:  # once train() starts from the starting model by default
        kwargs["starting_model"] = init == "starting"
    if "init_kind" in fields:
        kwargs["init_kind"] = init
    return TrainConfig(seed=seed, device="cpu", **kwargs)


def train_snapshots(task: Task, init: str, seed: int, times: list[float], options: dict,
                    by_steps: bool = False):
    """Train once, open-ended; return [(seconds, steps, model copy)] at each of `times`
    (seconds of training, or optimiser steps with by_steps)."""
    from unet_studio.core.stack import Stack
    train = _trainer().train

    images = [Stack.from_array(im, "ZYX" if im.ndim == 3 else "YX") for im in task.train_images]
    start_model = None
    config = _config(init, seed, options)
    if init == "starting" and not hasattr(config, "starting_model"):
        from unet_studio.ml.starting_model import load_starting_model
        start_model = load_starting_model(len(task.classes), images[0].n_c)
    elif init not in ("starting", "scratch"):
        from unet_studio.ml.model_file import load_model
        start_model = load_model(init)
    todo = sorted(times)
    snapshots = []
    if by_steps:
        config.report_every = 0.0  # a report after every step, so a snapshot lands on its step
    run = train(images, task.train_labels, task.classes, config, init=start_model,
                should_stop=lambda: False)
    try:
        for progress in run:
            now = progress.step if by_steps else progress.elapsed
            while todo and (now >= todo[0] or progress.done):
                snapshots.append((progress.elapsed, progress.step, progress.model.copy()))
                todo.pop(0)
            if not todo:
                break
    finally:
        run.close()
    return snapshots, images


def evaluate_model(task: Task, model, images, views: int | None = None) -> dict:
    from unet_studio.ml.normalise import measure_normalisation
    from unet_studio.ml.predict import predict_plane

    # Planes of the training stack are scaled like the stack (as the app does); separate
    # images each by their own percentiles.
    stack_norm = measure_normalisation(images[0]) if task.train_images[0].ndim == 3 else None
    masks, instances = [], []
    start = time.perf_counter()
    for plane in task.eval_images:
        pred = predict_plane(model, plane, normalisation=stack_norm,
                             **({"views": views} if views else {}))
        masks.append(pred.mask)
        if task.eval_instances is not None:
            instances.append(_instances(pred, task.object_class))
    seconds = time.perf_counter() - start
    result = score(task, masks, instances if task.eval_instances is not None else None)
    result["predict_mpx_s"] = round(sum(p.size for p in task.eval_images) / 1e6 / seconds, 2)
    return result


def _instances(pred, k: int) -> np.ndarray:
    """The objects of class k as the app finds them (ml/objects.py: the object size measured
    from the mask, the class's probability helping part touching objects)."""
    return pred.instances(k)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--tasks", nargs="+", default=["isbi", "dsb"], choices=sorted(TASKS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--inits", nargs="+", default=["starting", "scratch"],
                   help="starting, scratch, or a model file to fine-tune")
    p.add_argument("--times", nargs="+", type=float, default=[15, 30, 60, 120])
    p.add_argument("--by-steps", action="store_true",
                   help="--times are optimiser steps, not seconds (fair comparisons on a busy machine)")
    p.add_argument("--forest", action="store_true", help="also run the random forest (per seed)")
    p.add_argument("--scribbled-planes", type=int, default=None, metavar="N",
                   help="ISBI: scribbles on the first N slices (the data's on 0-1, the others "
                        "simulated by ../shared/tools/simulate_scribbles.py at the data's density), "
                        "to see what more strokes give")
    p.add_argument("--hand-strokes", type=float, default=None, metavar="WIDEN",
                   help="the scribbles (and correction strokes) painted as hands do: WIDEN times as "
                        "wide, off-centre, spilling over edges (Task.with_hand_strokes), to compare "
                        "with the thin centred ones")
    p.add_argument("--train-on-truth", action="store_true",
                   help="label every pixel of the scribbled planes from the ground truth (a ceiling)")
    p.add_argument("--correct-at", nargs="+", type=float, default=[], metavar="SECONDS",
                   help="simulate a correction round at these seconds of training "
                        "(quality_corrections.py); the forest gets as many rounds")
    p.add_argument("--stop-to-correct", action="store_true",
                   help="with --correct-at: stop training to correct and train again from the model "
                        "shown (default: paint while training goes on)")
    p.add_argument("--correction-fraction", type=float, default=0.003,
                   help="correction strokes per round: at most this fraction of a plane per class")
    p.add_argument("--views", nargs="+", type=int, default=[None],
                   help="score each model with these numbers of mirrored views (default: the app's)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--option", nargs="*", default=[], metavar="KEY=VALUE",
                   help="TrainConfig fields, e.g. norm=group lr=0.002")
    p.add_argument("--trainer", default=_TRAINER,
                   help="module (or a .py file) with TrainConfig and train, to measure a variant")
    p.add_argument("--label", default="", help="a name for this configuration in the results")
    p.add_argument("--results", default="benchmarks/quality-results.jsonl")
    p.add_argument("--table", nargs="*", metavar="RESULTS", help="print tables from results files and stop")
    args = p.parse_args(argv)
    if args.table is not None:
        from quality_table import print_tables
        print_tables(args.table or [args.results])
        return 0
    import torch
    from unet_studio.ml.device import use_all_cpu_cores
    use_all_cpu_cores()
    if args.threads:
        torch.set_num_threads(args.threads)
    options = dict(_parse_option(o) for o in args.option)
    _use_trainer(args.trainer)
    load = os.getloadavg()[0]
    for name in args.tasks:
        task = TASKS[name](Path(args.data))
        marks = {}   # what the rows of this task say was changed in it
        if args.scribbled_planes and task.train_images[0].ndim == 3:
            task = task.with_scribbled_planes(args.scribbled_planes, Path(args.data))
            marks["scribbled_planes"] = args.scribbled_planes
        if args.train_on_truth:
            task = task.with_truth_labels()
        if args.hand_strokes:
            task = task.with_hand_strokes(args.hand_strokes)
            marks["hand_strokes"] = args.hand_strokes
        for seed in args.seeds:
            if args.correct_at:
                _run_corrections(task, name, seed, args, options, load, marks)
                continue
            if args.forest:
                _append(args.results, dict(run_forest(task, seed), task=name, load=load, **marks))
            for init in args.inits:
                start = time.perf_counter()
                snapshots, images = train_snapshots(task, init, seed, args.times, options, args.by_steps)
                for ((elapsed, steps, model), t), views in itertools.product(
                        zip(snapshots, sorted(args.times)), args.views):
                    row = {"task": name, "method": "unet", "init": init, "label": args.label,
                           "labels": "truth" if args.train_on_truth else "scribbles",
                           "options": options, "seed": seed, "time": t, "unit": "steps" if args.by_steps else "s", "elapsed": round(elapsed, 1),
                           "steps": steps, "threads": torch.get_num_threads(), "load": round(os.getloadavg()[0], 2),
                           **({"views": views} if views else {}),
                           **marks,
                           "scores": evaluate_model(task, model, images, views)}
                    _append(args.results, row)
                    print(json.dumps(row), flush=True)
                print(f"# {name} {init} seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    return 0


def _run_corrections(task: Task, name: str, seed: int, args, options: dict, load: float,
                     marks: dict) -> None:
    import torch
    from quality_corrections import MIN_WIDTH, forest_with_corrections, unet_with_corrections
    from unet_studio.core.stack import Stack

    common = {"task": name, "seed": seed, "labels": "scribbles + corrections",
              "stop_to_correct": args.stop_to_correct,
              "correction_fraction": args.correction_fraction, "correction_min_width": MIN_WIDTH, **marks}
    if args.forest:
        start = time.perf_counter()
        masks, painted = forest_with_corrections(task, seed, len(args.correct_at), args.correction_fraction,
                                                 args.hand_strokes)
        _append(args.results, dict(common, method="forest", rounds=len(painted), painted=painted,
                                   seconds=round(time.perf_counter() - start, 1), load=load,
                                   scores=score_forest(task, masks)))
    images = [Stack.from_array(im, "ZYX" if im.ndim == 3 else "YX") for im in task.train_images]
    snapshots, painted, shown = unet_with_corrections(task, seed, args.times, args.correct_at,
                                               args.correction_fraction, _config("starting", seed, options),
                                               images, args.stop_to_correct, args.hand_strokes, args.by_steps)
    for (seconds, steps, rounds, model), t in zip(snapshots, sorted(args.times)):
        row = dict(common, method="unet", init="starting", label=args.label, options=options, time=t,
                   unit="steps" if args.by_steps else "s", elapsed=seconds, steps=steps, rounds=rounds, painted=painted[:rounds],
                   shown_after_10s=shown[:rounds],
                   threads=torch.get_num_threads(), load=round(os.getloadavg()[0], 2),
                   scores=evaluate_model(task, model, images))
        _append(args.results, row)
        print(json.dumps(row), flush=True)


def _use_trainer(name: str) -> None:
    global _TRAINER
    if name.endswith(".py"):
        folder = str(Path(name).resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        name = Path(name).stem
    _TRAINER = name


def _parse_option(text: str):
    key, _, value = text.partition("=")
    for cast in (int, float):
        try:
            return key, cast(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False, "none": None}.get(value.lower(), value)


def _append(path: str, row: dict) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
