"""The two scribble tasks of ../shared/data (see its README) and their scores.

ISBI 2012 (EM membranes): train on the scribbles of slices 0-1 of the 30-slice stack,
predict slices 10-29; class 1 = membrane, 2 = cell interior. Scores: membrane F1 (the
foreground F1), pixel error, per-class IoU.

DSB 2018 (fluorescent nuclei): train on the scribbles of the first three images sorted by
name (1 = background, 2 = nucleus), predict the other 37. Scores: nucleus F1 (pixels, the
foreground F1), nucleus IoU, pixel error, instance F1 (nuclei matched at IoU > 0.5).
All pixel scores are pooled over the evaluated images.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import tifffile

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class Task:
    """Training images + scribbles, and the images to evaluate with their truth.

    train_images: arrays (Y, X) or (Z, Y, X) as the user opens them; train_labels alike.
    eval_images: list of (Y, X) planes; eval_truth: class masks (Y, X) (1..K) and, for
    nuclei, eval_instances (Y, X) int. object_class: the class scored as foreground.
    """
    name: str
    classes: list[str]
    object_class: int
    train_images: list[np.ndarray]
    train_labels: list[np.ndarray]
    eval_images: list[np.ndarray]
    eval_truth: list[np.ndarray]
    eval_instances: list[np.ndarray] | None = None
    notes: dict = field(default_factory=dict)
    train_truth: list[np.ndarray] | None = None   # full labels where the scribbles are (an oracle)
    first_scored_plane: int | None = None   # a stack task: its planes from this one on are scored

    def with_truth_labels(self) -> "Task":
        """This task with every pixel of the scribbled planes labeled from the ground truth: what
        the same images could teach if fully labeled (a ceiling for training from scribbles)."""
        import dataclasses
        full = []
        for scribbles, truth in zip(self.train_labels, self.train_truth or []):
            truth = np.array(truth)
            if scribbles.ndim == 3:
                truth[~scribbles.reshape(len(scribbles), -1).any(1)] = 0
            full.append(truth)
        return dataclasses.replace(self, name=self.name + " (fully labeled)", train_labels=full)

    def with_hand_strokes(self, widen: float = 3.0, seed: int = 0) -> "Task":
        """This task's scribbles painted as hands paint them: each stroke `widen` times as wide
        as drawn (a brush wider than the structure), shifted off-centre by up to half the added
        width in a random direction, and painted over whatever it spills onto, the classes in a
        random order per plane (a later stroke covers an earlier one, as in the app)."""
        import dataclasses
        rng = np.random.default_rng(seed)
        hand = [np.stack([hand_painted(plane, widen, rng) for plane in labels]) if labels.ndim == 3
                else hand_painted(labels, widen, rng) for labels in self.train_labels]
        return dataclasses.replace(self, name=f"{self.name} (strokes x{widen:g} wide, off-centre)",
                                   train_labels=hand)

    def with_strokes_across(self, brush: float = 0.4, spill: float = 0.0, seed: int = 0) -> "Task":
        """This task's strokes as people paint small objects (a 2-D task with train_truth): each
        object of the object class a scribble touches gets one straight stroke across it through
        its centre, at a random angle, with a brush `brush` times its diameter, reaching `spill`
        times its diameter past its edge at both ends (0: to its edge, where the brush's round end
        spills past it); the other classes' strokes painted as hands paint them
        (with_hand_strokes), under the objects' strokes."""
        import dataclasses

        from scipy import ndimage

        from unet_studio.ml.objects import find_objects
        rng = np.random.default_rng(seed)
        painted = []
        for labels, truth in zip(self.train_labels, self.train_truth):
            out = hand_painted(np.where(labels == self.object_class, 0, labels), 3.0, rng)
            objects = find_objects(truth == self.object_class)    # touching objects apart
            yy, xx = np.mgrid[:labels.shape[0], :labels.shape[1]]
            for i in np.unique(objects[labels == self.object_class]):
                if i == 0:
                    continue
                cy, cx = ndimage.center_of_mass(objects == i)
                diameter = 2 * np.sqrt((objects == i).sum() / np.pi)
                angle, reach = rng.uniform(0, np.pi), (0.5 + spill) * diameter
                t = np.clip(((yy - cy) * np.sin(angle) + (xx - cx) * np.cos(angle)) / reach, -1, 1) * reach
                off = np.hypot(yy - (cy + t * np.sin(angle)), xx - (cx + t * np.cos(angle)))
                out[off <= brush * diameter / 2] = self.object_class
            painted.append(out)
        return dataclasses.replace(self, name=f"{self.name} (strokes across the objects)", train_labels=painted)

    def with_scribbled_planes(self, n: int, data: Path) -> "Task":
        """A stack task (ISBI) with scribbles on its first n planes: the data's own where it has
        them, the others simulated from the truth by ../shared/tools/simulate_scribbles.py with
        its defaults (seed 0), which give the data's density (about 1.25 % of a plane). Only
        planes before the first scored one."""
        import dataclasses
        import importlib.util
        first_scored = self.first_scored_plane
        if first_scored is None:
            raise ValueError(f"{self.name} is not a stack whose later planes are scored")
        (scribbles,), (truth,) = self.train_labels, self.train_truth
        if not 1 <= n <= first_scored:
            raise ValueError(f"scribbled planes must be 1 to {first_scored} (plane {first_scored} is scored)")
        tool = Path(data).resolve().parent / "tools" / "simulate_scribbles.py"
        spec = importlib.util.spec_from_file_location("simulate_scribbles", tool)
        simulate = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(simulate)
        rng = np.random.default_rng(0)
        labels = np.zeros_like(scribbles)
        for z in range(n):
            labels[z] = scribbles[z] if scribbles[z].any() else simulate.scribble_slice(
                truth[z], fraction=0.006, width=3, length=60, rng=rng)
        return dataclasses.replace(self, name=f"{self.name} ({n} planes scribbled)", train_labels=[labels])


def hand_painted(labels: np.ndarray, widen: float, rng: np.random.Generator) -> np.ndarray:
    """One plane's strokes (0 = none) redrawn wider and off-centre (Task.with_hand_strokes)."""
    from scipy import ndimage

    painted = np.zeros_like(labels)
    for k in rng.permutation([int(v) for v in np.unique(labels) if v]):
        strokes, n = ndimage.label(labels == k)
        for i, where in enumerate(ndimage.find_objects(strokes), start=1):
            stroke = strokes[where] == i
            width = 2 * float(ndimage.distance_transform_edt(np.pad(stroke, 1))[1:-1, 1:-1].max())
            grow = max(1, int(round((widen - 1) * width / 2)))
            dy, dx = np.round(rng.uniform(-1, 1, 2) * grow / 2).astype(int)
            full = np.zeros(labels.shape, bool)
            full[where] = stroke
            wide = ndimage.binary_dilation(full, ndimage.generate_binary_structure(2, 1), iterations=grow)
            painted[_shifted(wide, dy, dx)] = k
    return painted


def _shifted(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`mask` moved by (dy, dx); what leaves the plane is dropped (no wrapping round)."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        mask[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def load_isbi(data: Path = DEFAULT_DATA) -> Task:
    folder = Path(data) / "isbi2012"
    volume = tifffile.imread(folder / "train-volume.tif")
    truth = tifffile.imread(folder / "truth.tif")
    scribbles = tifffile.imread(folder / "scribbles.tif")
    # The user opens the whole stack and paints on two slices: train on the stack.
    scored = range(10, 30)
    return Task("ISBI 2012 membranes", ["membrane", "cell"], 1, [volume], [scribbles],
                [volume[z] for z in scored], [truth[z] for z in scored],
                train_truth=[truth], first_scored_plane=scored.start)


def load_dsb(data: Path = DEFAULT_DATA) -> Task:
    folder = Path(data) / "dsb2018-nuclei"
    names = sorted(p.name for p in (folder / "images").glob("*.tif"))
    scribbled = set(p.name for p in (folder / "scribbles").glob("*.tif"))
    train_names = names[:3]
    assert set(train_names) == scribbled, "the scribbled images are the first three by name"
    images = {n: tifffile.imread(folder / "images" / n) for n in names}
    instances = {n: tifffile.imread(folder / "instances" / n).astype(np.int32) for n in names}
    return Task("DSB 2018 nuclei", ["background", "nucleus"], 2,
                [images[n] for n in train_names],
                [tifffile.imread(folder / "scribbles" / n) for n in train_names],
                [images[n] for n in names[3:]],
                [np.where(instances[n] > 0, 2, 1).astype(np.uint8) for n in names[3:]],
                [instances[n] for n in names[3:]],
                train_truth=[np.where(instances[n] > 0, 2, 1).astype(np.uint8) for n in train_names])


def load_halo(data: Path = DEFAULT_DATA) -> Task:
    """Synthetic phase-contrast cells in a bright halo that is background (objects_kinds.py)."""
    from objects_kinds import load_kind
    return load_kind("halo", data)


TASKS: dict[str, Callable[[Path], Task]] = {"isbi": load_isbi, "dsb": load_dsb, "halo": load_halo}


# -- scores ---------------------------------------------------------------------------------
FAR = 6.0  # px: a false foreground pixel farther than this from any true one is a false object


def pixel_scores(task: Task, masks: list[np.ndarray]) -> dict[str, float]:
    """Foreground F1, per-class IoU and pixel error of predicted class masks (1..K), and
    fp_far: the fraction of pixels called foreground more than FAR px from any true foreground
    (whole false objects, as opposed to borders drawn a little wide); excess: the foreground
    called beyond the true foreground's area, as a share of it (negative: too little)."""
    from scipy import ndimage
    k = task.object_class
    tp = fp = fn = wrong = total = far = 0
    inter = np.zeros(len(task.classes) + 1)
    union = np.zeros(len(task.classes) + 1)
    for mask, truth in zip(masks, task.eval_truth):
        p, t = mask == k, truth == k
        tp += int((p & t).sum())
        fp += int((p & ~t).sum())
        fn += int((~p & t).sum())
        wrong += int((mask != truth).sum())
        far += int((p & (ndimage.distance_transform_edt(~t) > FAR)).sum())
        total += truth.size
        for c in range(1, len(task.classes) + 1):
            inter[c] += ((mask == c) & (truth == c)).sum()
            union[c] += ((mask == c) | (truth == c)).sum()
    scores = {"f1": 2 * tp / max(2 * tp + fp + fn, 1), "pixel_error": wrong / max(total, 1),
              "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
              "fp_far": far / max(total, 1), "excess": (fp - fn) / max(tp + fn, 1)}
    for c, name in enumerate(task.classes, start=1):
        scores[f"iou_{name}"] = inter[c] / max(union[c], 1)
    return scores


def match_instances(pred: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int]:
    """(true positives, predicted objects, true objects) with one-to-one matching at IoU > 0.5
    (above 0.5 a truth object can overlap at most one prediction that much, so no assignment
    problem remains)."""
    n_pred, n_true = int(pred.max()), int(truth.max())
    if n_pred == 0 or n_true == 0:
        return 0, n_pred, n_true
    both = (pred > 0) & (truth > 0)
    pairs = np.bincount(pred[both].astype(np.int64) * (n_true + 1) + truth[both],
                        minlength=(n_pred + 1) * (n_true + 1)).reshape(n_pred + 1, n_true + 1)
    area_p = np.bincount(pred.ravel(), minlength=n_pred + 1)
    area_t = np.bincount(truth.ravel(), minlength=n_true + 1)
    ip, it = np.nonzero(pairs)
    iou = pairs[ip, it] / (area_p[ip] + area_t[it] - pairs[ip, it])
    return int((iou > threshold).sum()), int((area_p[1:] > 0).sum()), int((area_t[1:] > 0).sum())


def instance_f1(task: Task, instances: list[np.ndarray]) -> float:
    tp = n_pred = n_true = 0
    for pred, truth in zip(instances, task.eval_instances or []):
        a, b, c = match_instances(pred, truth)
        tp, n_pred, n_true = tp + a, n_pred + b, n_true + c
    return 2 * tp / max(n_pred + n_true, 1)


# -- the random forest baseline (the ilastik recipe) ----------------------------------------
def forest_features(plane: np.ndarray, workers: int | None = None) -> np.ndarray:
    """The forest's features of a plane (Y, X): ilastik's filters at several scales, on the
    plane scaled by its 1st / 99.8th percentiles; workers: threads for the filters."""
    from skimage.feature import multiscale_basic_features

    plane = plane.astype(np.float32)
    lo, hi = np.percentile(plane, [1, 99.8])
    return multiscale_basic_features((plane - lo) / max(hi - lo, 1e-6), workers=workers)


def fit_forest(task: Task, seed: int = 0, trees: int = 100, n_jobs: int = 1):
    """A 100-tree RandomForest on the features of the scribbled pixels of `task`."""
    from sklearn.ensemble import RandomForestClassifier

    xs, ys = [], []
    for image, labels in zip(task.train_images, task.train_labels):
        planes = [(image[z], labels[z]) for z in range(image.shape[0])] if image.ndim == 3 else [(image, labels)]
        for plane, lab in planes:
            if not lab.any():
                continue
            f = forest_features(plane)
            xs.append(f[lab > 0])
            ys.append(lab[lab > 0])
    forest = RandomForestClassifier(n_estimators=trees, n_jobs=n_jobs, random_state=seed)
    return forest.fit(np.concatenate(xs), np.concatenate(ys))


def forest_predict(forest, plane: np.ndarray, workers: int | None = None) -> np.ndarray:
    """The class mask (Y, X) uint8 the fitted `forest` gives `plane`."""
    f = forest_features(plane, workers)
    return forest.predict(f.reshape(-1, f.shape[-1])).reshape(plane.shape).astype(np.uint8)


def forest_masks(task: Task, seed: int = 0, trees: int = 100, n_jobs: int = 1,
                 predict: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """scikit-image multiscale_basic_features + a 100-tree RandomForest on the scribbled
    pixels; returns class masks (Y, X) uint8 for the evaluated images (or the planes in `predict`)."""
    forest = fit_forest(task, seed, trees, n_jobs)
    return [forest_predict(forest, plane) for plane in (task.eval_images if predict is None else predict)]
