"""Objects from scribbles: instance F1 (IoU 0.5), mean AP over IoU 0.5-0.9 and the median count
error per image, for our objects (unet_studio.ml.objects) against the old split and against the
random forest's mask with the same split, on the kinds of benchmarks/objects_kinds.py.

    .venv/bin/python benchmarks/objects.py --data ../shared/data --kinds dsb large --seeds 0
    .venv/bin/python benchmarks/objects.py --table

Training is slow on a CPU and the object finding is what is measured, so each (kind, seed)
trains ONE model for a fixed number of steps (--steps, about what 120 s gives on an idle 2-core
machine), predicts the held-out images once, and caches the object probabilities and the
forest's masks (np.savez under --cache); every later run scores the cached predictions.
Results (one JSON line per kind, seed and method) go to --results.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from objects_kinds import KINDS, load_kind  # noqa: E402
from quality_tasks import DEFAULT_DATA, Task, forest_masks, match_instances  # noqa: E402

HERE = Path(__file__).resolve().parent


# -- cached predictions ---------------------------------------------------------------------
def cached_predictions(task: Task, kind: str, seed: int, steps: int, cache: Path,
                       unet: bool = True) -> dict:
    """{'probability': [(Y, X) float32 object class probability] (None without unet),
    'boundary': [(Y, X) the kept starting model's boundary, or None], 'borders': [the border
    class's pixels or None], 'forest': [(Y, X) uint8 masks], 'seconds': training seconds},
    computed once per (kind, seed, steps); without unet only the forest is run (and cached on
    its own) where no U-Net is cached."""
    path = cache / f"{kind}-seed{seed}-steps{steps}-kept{_STARTING['suffix']}.npz"
    forest_path = cache / f"{kind}-seed{seed}-forest.npz"
    cache.mkdir(parents=True, exist_ok=True)
    if not path.exists() and not unet:
        return {"probability": None, "forest": _forest_cached(task, seed, forest_path), "seconds": 0.0}
    if not path.exists():
        start = time.perf_counter()
        model = _train(task, seed, steps)
        seconds = time.perf_counter() - start
        predicted = [_predict(model, image, _border_class(task)) for image in task.eval_images]
        forest = _forest_cached(task, seed, forest_path)
        np.savez_compressed(path, seconds=seconds, n=len(predicted),
                            **{f"p{i}": p.astype(np.float16) for i, (p, _, _) in enumerate(predicted)},
                            **{f"b{i}": b for i, (_, b, _) in enumerate(predicted) if b is not None},
                            **{f"k{i}": k.astype(np.float16) for i, (_, _, k) in enumerate(predicted)
                               if k is not None},
                            **{f"f{i}": f for i, f in enumerate(forest)})
        print(f"# {kind} seed {seed}: {steps} steps in {seconds:.0f} s", flush=True)
    with np.load(path) as z:
        n = int(z["n"])
        return {"probability": [z[f"p{i}"].astype(np.float32) for i in range(n)],
                "borders": [z[f"b{i}"] if f"b{i}" in z else None for i in range(n)],
                "boundary": [z[f"k{i}"].astype(np.float32) if f"k{i}" in z else None for i in range(n)],
                "forest": [z[f"f{i}"] for i in range(n)], "seconds": float(z["seconds"])}


def _forest_cached(task: Task, seed: int, path: Path) -> list[np.ndarray]:
    """The forest's masks (they depend on the kind and seed only), computed once."""
    if not path.exists():
        forest = _forest(task, seed)
        np.savez_compressed(path, n=len(forest), **{f"f{i}": f for i, f in enumerate(forest)})
    with np.load(path) as z:
        return [z[f"f{i}"] for i in range(int(z["n"]))]


_STARTING = {"suffix": ""}


def use_starting_model(path: Path) -> None:
    """Fine-tune from `path` in this process (ml/starting_model reads its file through
    starting_model_path)."""
    from unet_studio.ml import starting_model
    if not path.is_file():
        raise SystemExit(f"objects.py: no model file {path}")
    starting_model.starting_model_path = lambda: path
    _STARTING["suffix"] = "-" + path.stem


def _train(task: Task, seed: int, steps: int):
    from unet_studio.core.stack import Stack
    from unet_studio.ml.train import TrainConfig, train

    images = [Stack.from_array(im, "CYX" if im.ndim == 3 else "YX") for im in task.train_images]
    run = train(images, task.train_labels, task.classes, TrainConfig(steps=steps, seed=seed, device="cpu"))
    model = None
    for progress in run:
        model = progress.model
        if progress.step % 100 == 0 or progress.done:
            print(f"#   step {progress.step}, {progress.elapsed:.0f} s", flush=True)
    return model


def _border_class(task: Task) -> int | None:
    from unet_studio.core.class_templates import border_class
    return border_class(task.classes)


def _predict(model, image: np.ndarray, border: int | None) -> tuple:
    """The object class's probability; where the task has a border class, its pixels; the
    starting model's boundary where the model keeps it (ml/unet.py)."""
    from unet_studio.ml.objects import border_pixels
    from unet_studio.ml.predict import predict_plane
    prediction = predict_plane(model, image)
    return prediction.probabilities[1], border_pixels(prediction.mask, border, 2), prediction.boundary


def _forest(task: Task, seed: int, trees: int = 100) -> list[np.ndarray]:
    """quality_tasks.forest_masks; for colour images the same recipe (scikit-image's
    multiscale_basic_features, 100 trees) with the channels as features of one plane."""
    if task.train_images[0].ndim == 2:
        return forest_masks(task, seed=seed, trees=trees)
    from skimage.feature import multiscale_basic_features
    from sklearn.ensemble import RandomForestClassifier

    def features(image: np.ndarray) -> np.ndarray:
        lo, hi = np.percentile(image, [1, 99.8])
        scaled = (np.moveaxis(image, 0, -1).astype(np.float32) - lo) / max(hi - lo, 1e-6)
        return multiscale_basic_features(scaled, channel_axis=-1)

    xs, ys = [], []
    for image, labels in zip(task.train_images, task.train_labels):
        xs.append(features(image)[labels > 0])
        ys.append(labels[labels > 0])
    forest = RandomForestClassifier(n_estimators=trees, n_jobs=1, random_state=seed)
    forest.fit(np.concatenate(xs), np.concatenate(ys))
    return [forest.predict(f.reshape(-1, f.shape[-1])).reshape(f.shape[:2]).astype(np.uint8)
            for f in map(features, task.eval_images)]


# -- scores ---------------------------------------------------------------------------------
IOUS = np.arange(0.5, 0.95, 0.05)


def object_scores(predicted: list[np.ndarray], truth: list[np.ndarray]) -> dict:
    """Instance F1 at IoU 0.5 (pooled), mean AP over IoU 0.5-0.9 (AP = TP / (TP + FP + FN),
    as in the DSB 2018 challenge, averaged over thresholds and images) and the median relative
    count error per image."""
    tp = n_pred = n_true = 0
    aps, errors = [], []
    for pred, true in zip(predicted, truth):
        a, b, c = match_instances(pred, true)
        tp, n_pred, n_true = tp + a, n_pred + b, n_true + c
        aps.append(np.mean([_ap(pred, true, t) for t in IOUS]))
        errors.append(abs(b - c) / max(c, 1))
    return {"instance_f1": round(2 * tp / max(n_pred + n_true, 1), 4), "map": round(float(np.mean(aps)), 4),
            "count_error": round(float(np.median(errors)), 4), "found": n_pred, "true": n_true}


def _ap(pred: np.ndarray, true: np.ndarray, threshold: float) -> float:
    hits, n_pred, n_true = match_instances(pred, true, threshold)
    return hits / max(n_pred + n_true - hits, 1)


def methods(object_size: float | None = None, border: int | None = None) -> dict:
    """name -> (object class probability (Y, X), forest mask, U-Net border pixels or None, the
    kept starting model's boundary or None) -> instances; border: the task's border class, whose
    pixels the objects grow into (ml/objects.py)."""
    from unet_studio.ml.objects import border_pixels, find_objects, parting

    def forest_borders(f):
        return border_pixels(f, border, 2)

    def ours(p, b, k):
        parts = parting(k, border, p > 0.5, p)
        return find_objects(p > 0.5, p, object_size=object_size or parts.size, borders=b, boundary=parts.boundary,
                            parted_by=parts.parted_by)

    return {
        "unet old split": lambda p, f, b, k: old_split(p > 0.5),
        "unet objects": lambda p, f, b, k: ours(p, b, k),
        "unet objects (no boundary)": lambda p, f, b, k: find_objects(p > 0.5, p, object_size=object_size,
                                                                      borders=b),
        "unet objects (mask only)": lambda p, f, b, k: find_objects(p > 0.5, object_size=object_size, borders=b),
        "forest old split": lambda p, f, b, k: old_split(f == 2),
        "forest objects": lambda p, f, b, k: find_objects(f == 2, object_size=object_size,
                                                         borders=forest_borders(f)),
    }


def old_split(foreground: np.ndarray, min_size: int = 4) -> np.ndarray:
    """The split before ml/objects.py, for comparison: distance transform smoothed by 1 px,
    seeds the h-maxima of 1.5 px, objects of min_size px or more."""
    from scipy import ndimage
    from skimage.morphology import h_maxima
    from skimage.segmentation import relabel_sequential, watershed

    dist = ndimage.gaussian_filter(ndimage.distance_transform_edt(foreground).astype(np.float32), 1.0)
    labels = watershed(-dist, ndimage.label(h_maxima(dist, 1.5) & foreground)[0], mask=foreground)
    leftover, _ = ndimage.label(foreground & (labels == 0))
    labels = np.where(leftover > 0, leftover + labels.max(), labels)
    small = np.bincount(labels.ravel()) < min_size
    small[0] = False
    return relabel_sequential(np.where(small[labels], 0, labels))[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "unet_studio-objects-cache"),
                   help="where the trained models' predictions are kept between runs")
    p.add_argument("--cache-only", action="store_true", help="train and cache, score nothing")
    p.add_argument("--forest-only", action="store_true",
                   help="where no U-Net is cached for a kind, run and score only the forest")
    p.add_argument("--methods", nargs="*", default=None, help="score only these methods")
    p.add_argument("--results", default=str(HERE / "objects-results.jsonl"))
    p.add_argument("--label", default="")
    p.add_argument("--starting-model", help="fine-tune from this model file instead of the shipped one "
                   "(one trained without the held-out groups: packaging/starting_model, --leave-out); "
                   "its predictions are cached under its own name")
    p.add_argument("--table", action="store_true", help="print the table of --results and stop")
    args = p.parse_args(argv)
    if args.table:
        print_table(args.results)
        return 0
    if args.starting_model:
        use_starting_model(Path(args.starting_model))
    for kind in args.kinds:
        task = load_kind(kind, Path(args.data))
        for seed in args.seeds:
            cached = cached_predictions(task, kind, seed, args.steps, Path(args.cache), not args.forest_only)
            if args.cache_only:
                continue
            for name, method in methods(border=_border_class(task)).items():
                if (args.methods and name not in args.methods) or (cached["probability"] is None and "unet" in name):
                    continue
                start = time.perf_counter()
                probability = cached["probability"] or [None] * len(cached["forest"])
                borders = cached.get("borders") or [None] * len(cached["forest"])
                boundary = cached.get("boundary") or [None] * len(cached["forest"])
                found = [method(*item) for item in zip(probability, cached["forest"], borders, boundary)]
                row = {"kind": kind, "seed": seed, "steps": args.steps, "method": name, "label": args.label,
                       "seconds_per_image": round((time.perf_counter() - start) / len(found), 3),
                       **object_scores(found, task.eval_instances)}
                with open(args.results, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    return 0


def print_table(results: str) -> None:
    rows = [json.loads(line) for line in open(results, encoding="utf-8")]
    latest = {}
    for row in rows:
        latest.setdefault((row["kind"], row["steps"], row["method"], row.get("label", "")), []).append(row)
    print("| kind | steps | method | seeds | instance F1 | mean AP 0.5-0.9 | median count error | found / true |")
    print("|---|---|---|---|---|---|---|---|")
    for (kind, steps, method, label), group in latest.items():
        by_seed = {r["seed"]: r for r in group}   # the last row of each seed
        runs = list(by_seed.values())
        mean = {k: np.mean([r[k] for r in runs]) for k in ("instance_f1", "map", "count_error")}
        print(f"| {kind} | {steps} | {method}{' ' + label if label else ''} | {len(runs)} | {mean['instance_f1']:.3f} | "
              f"{mean['map']:.3f} | {mean['count_error']:.1%} | {sum(r['found'] for r in runs)} / "
              f"{sum(r['true'] for r in runs)} |")


if __name__ == "__main__":
    raise SystemExit(main())
