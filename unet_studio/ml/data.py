"""Training data: the user's images and live labels, turned into patches around labeled pixels.

Labels are read live: each batch first checks `LabelVolume.version`, and when it changed the
index of labeled pixels is rebuilt, so strokes painted while training are used at once.
Patches are centred (with jitter) on labeled pixels, choosing the class first, so a class
with a few thin strokes is seen as often as one with many. Each painted pixel can carry a
weight: how much it is trusted (a stroke's centre more than its edges, ml/stroke_trust.py)
times one plus the paper's border weight. Strokes painted while training
(`fresh`: the pixels added since the first index) can be asked for more often for a while,
and their pixels weighted more meanwhile, so a correction is learned sooner instead of
drowning among the old strokes of its class. Geometry and
intensity augmentation run on the whole batch at once in torch (see ml/augment.py).
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from unet_studio.core.errors import TrainingInputError
from unet_studio.ml.loss import border_weight_map
from unet_studio.ml.normalise import Normalisation, measure_normalisation
from unet_studio.ml.stroke_trust import stroke_trust, updated_trust

# Labeled planes kept normalised in memory (float32) so patches cost a slice, not a file read.
_PLANE_CACHE_BYTES = 1 << 30
# Pixel weights of the planes patches came from lately, with the labels they were computed from:
# when the labels change, stroke trust is recomputed only where they did (a plane's is computed
# whole when it has left: tens of ms, over half a second at 2048²).
_WEIGHT_CACHE_BYTES = 1 << 28
# While the user paints, the version changes with every mouse move: re-index at most this often.
_REINDEX_EVERY_S = 0.5
_INDEX_CHUNK = 1 << 22   # label pixels copied at a time while indexing them (4 MB of uint8)


class _ArrayStack:
    """A single-plane image given as a numpy array (C, Y, X) or (Y, X), seen as a Stack."""

    def __init__(self, data: np.ndarray):
        data = np.asarray(data)
        self.data = data[None] if data.ndim == 2 else data
        if self.data.ndim != 3:
            raise TrainingInputError(f"an image array must be (Y, X) or (C, Y, X), not shape {data.shape}")
        self.n_t, self.n_z, self.n_c = 1, 1, self.data.shape[0]
        self.label_shape = self.data.shape[1:]
        self.label_axes = "YX"
        self.name = "array"

    def plane(self, t: int = 0, z: int = 0) -> np.ndarray:
        return self.data


class _ArrayLabels:
    """Fixed labels given as a numpy array, seen as a LabelVolume that never changes."""

    def __init__(self, data: np.ndarray):
        self.data = np.asarray(data)
        self.version = 0


@dataclass
class _ClassIndex:
    """Where the labeled pixels of one class are: per image, flat indices into the label array."""
    per_image: list[np.ndarray]
    offsets: np.ndarray     # cumulative counts across images, length n_images + 1

    @property
    def total(self) -> int:
        return int(self.offsets[-1])


class TrainingSet:
    """Images + live labels -> class-balanced patches.

    images: core Stacks (or arrays (C, Y, X) / (Y, X)); labels: LabelVolumes (or arrays
    shaped like the image's label shape); n_classes: K, label values 1..K.
    """

    def __init__(self, images: list[Any], labels: list[Any], n_classes: int,
                 border_classes: list[int] | None = None, seed: int | None = None):
        if len(images) == 0:
            raise TrainingInputError("no image given for training")
        if len(images) != len(labels):
            raise TrainingInputError(f"{len(images)} image(s) but {len(labels)} label file(s): give one labels per image")
        self.images = [img if hasattr(img, "plane") else _ArrayStack(img) for img in images]
        self.labels = [lab if hasattr(lab, "version") else _ArrayLabels(lab) for lab in labels]
        self.n_classes = int(n_classes)
        self.border_classes = border_classes
        self.in_channels = self.images[0].n_c
        for img, lab in zip(self.images, self.labels):
            name = getattr(img, "name", "image")
            if img.n_c != self.in_channels:
                raise TrainingInputError(f"images have different channel counts ({self.in_channels} and {img.n_c}, "
                                         f"{name}); train on images with the same channels")
            if tuple(lab.data.shape) != tuple(img.label_shape):
                raise TrainingInputError(f"labels for {name} have shape {tuple(lab.data.shape)}, "
                                         f"the image needs {tuple(img.label_shape)}")
        self.normalisations: list[Normalisation] = [measure_normalisation(img) for img in self.images]
        self._versions = [None] * len(self.images)
        self._last_index_time = -np.inf
        self._planes = _Recent(_PLANE_CACHE_BYTES)
        self._weights = _Recent(_WEIGHT_CACHE_BYTES)
        self._weights_checked: set[tuple] = set()   # kept weights compared with the labels since the last re-index
        self.classes: list[_ClassIndex] = []
        self.fresh: list[_ClassIndex] = []   # per class: pixels painted since the last forget_fresh
        self._fresh_at: dict[int, tuple] = {}   # per image: the fresh pixels' coordinates, once per index
        self.new_classes_seen = False   # strokes of a class beyond n_classes appeared while training
        self.refresh(force=True)
        self._last_index_time = -np.inf  # the first stroke after the start is used at once
        counts = self.labeled_counts()
        if counts.sum() == 0:
            raise TrainingInputError("nothing is labeled: paint a few strokes of each class first")
        if (counts > 0).sum() < 2:
            only = int(np.flatnonzero(counts)[0]) + 1
            raise TrainingInputError(f"only class {only} is labeled: label at least two classes "
                                     "(e.g. background and the objects)")

    # -- labels ----------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Re-index labeled pixels if any label volume changed (rate-limited). True if it did."""
        versions = [lab.version for lab in self.labels]
        if not force and (versions == self._versions
                          or time.monotonic() - self._last_index_time < _REINDEX_EVERY_S):
            return False
        per_class: list[list[np.ndarray]] = [[] for _ in range(self.n_classes)]
        for img_i, lab in enumerate(self.labels):
            labeled, values = _labeled_pixels(lab.data)
            top = int(values.max()) if values.size else 0
            if top > self.n_classes:
                if self._versions[img_i] is None:
                    raise TrainingInputError(f"labels of image {img_i + 1} use class {top} "
                                             f"but only {self.n_classes} classes are defined")
                # A class added while training: this run's network has no output for it, so its
                # strokes wait for the next run (the trainer says so) instead of stopping this one.
                self.new_classes_seen = True
            order = np.argsort(values, kind="stable")
            bounds = np.searchsorted(values[order], np.arange(1, self.n_classes + 2))
            for k in range(self.n_classes):
                per_class[k].append(labeled[order[bounds[k]:bounds[k + 1]]])
        new = [_index(idx) for idx in per_class]
        if self.classes:   # not the first index: what was painted since is fresh
            self.fresh = [self._fresh_in(k, c) for k, c in enumerate(new)]
            self._fresh_at = {}
        self.classes = new
        self._versions = versions
        self._last_index_time = time.monotonic()
        self._weights_checked = set()
        return True

    def _fresh_in(self, k: int, now: _ClassIndex) -> _ClassIndex:
        """Class k's fresh pixels once its pixels are `now`: those not labeled k at the last
        index, and those already fresh that still are."""
        before = self.classes[k].per_image
        fresh = self.fresh[k].per_image if self.fresh else [None] * len(before)
        return _index([_added(*pixels) for pixels in zip(now.per_image, before, fresh)])

    def forget_fresh(self) -> None:
        """The strokes painted so far are no longer new."""
        self.fresh = []
        self._fresh_at = {}

    def labeled_counts(self) -> np.ndarray:
        """(K,) labeled pixels per class (index k-1 for class k)."""
        return np.array([c.total for c in self.classes], np.int64)

    def strokes_digest(self) -> str:
        """A fingerprint of where each class is painted, as the last re-index saw it: equal only
        for the same pixels with the same classes (erasing some pixels and painting as many
        elsewhere changes it, which the counts per class do not show). Images without strokes
        of a class leave it as it is: adding an unpainted image is not new strokes."""
        digest = hashlib.blake2b(digest_size=16)
        for k, c in enumerate(self.classes):
            for img_i, indices in enumerate(c.per_image):
                if len(indices):
                    digest.update(np.array([k, img_i, len(indices)], "<i8").tobytes())
                    digest.update(np.ascontiguousarray(indices, dtype="<i8").tobytes())
        return digest.hexdigest()

    def labeled_planes(self) -> list[tuple[int, tuple]]:
        """(image index, plane index) of every plane with a stroke, as the last re-index saw them."""
        planes = []
        for img_i, img in enumerate(self.images):
            flat = np.concatenate([c.per_image[img_i] for c in self.classes])
            per_plane = int(np.prod(img.label_shape[-2:]))
            for p in np.unique(flat // per_plane):
                planes.append((img_i, tuple(int(v) for v in np.unravel_index(int(p), img.label_shape[:-2]))))
        return planes

    # -- sampling --------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, batch: int, size: int,
               border_weights: bool = False, fresh_share: float = 0.0, trust_centres: float = 0.0,
               fresh_weight: float = 1.0, trust_looks: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """A batch of patches: images (B, C, size, size) float32 normalised, labels (B, size,
        size) uint8 (0 unlabeled), and pixel weights (B, size, size) float32, None when neither
        `border_weights` (1 + the border weight) nor `trust_centres` (the power of
        ml/stroke_trust.py; with `trust_looks`, its `looks`) asks for them.

        Each patch: pick a labeled class uniformly, a labeled pixel of it uniformly across all
        images, centre the patch near it (jitter of a quarter patch), random flip/rot90. With
        `fresh_share`, that share of the patches (on average) picks among the fresh strokes
        instead, when there are any, and the fresh pixels of every patch weigh `fresh_weight`
        times as much as the others (the weights are then never None).
        """
        present = [k for k, c in enumerate(self.classes) if c.total > 0]
        fresh = [k for k, c in enumerate(self.fresh) if c.total > 0] if fresh_share > 0 else []
        images = np.empty((batch, self.in_channels, size, size), np.float32)
        labels = np.zeros((batch, size, size), np.uint8)
        weighted = (border_weights, trust_centres, trust_looks) if border_weights or trust_centres > 0 else None
        boost = fresh_weight if fresh and fresh_weight != 1.0 else None
        weights = np.zeros((batch, size, size), np.float32) if weighted or boost else None
        for b in range(batch):
            if not present:
                # Everything was erased meanwhile: an unlabeled patch trains nothing but keeps going.
                img_i, pos = 0, (0,) * len(self.images[0].label_shape)
            else:
                if fresh and rng.random() < fresh_share:
                    cls = self.fresh[fresh[rng.integers(len(fresh))]]
                else:
                    cls = self.classes[present[rng.integers(len(present))]]
                r = int(rng.integers(cls.total))
                img_i = int(np.searchsorted(cls.offsets, r, side="right") - 1)
                flat = cls.per_image[img_i][r - cls.offsets[img_i]]
                pos = np.unravel_index(int(flat), self.images[img_i].label_shape)
            plane_idx, cy, cx = tuple(int(v) for v in pos[:-2]), int(pos[-2]), int(pos[-1])
            jitter = size // 4
            cy += int(rng.integers(-jitter, jitter + 1))
            cx += int(rng.integers(-jitter, jitter + 1))
            y0, x0 = cy - size // 2, cx - size // 2
            img_patch, lab_patch, w_patch = self._crop(img_i, plane_idx, y0, x0, size, weighted)
            if boost:
                w_patch = np.ones((size, size), np.float32) if w_patch is None else w_patch
                w_patch = w_patch * np.where(self._fresh_mask(img_i, plane_idx, y0, x0, size), boost, 1.0)
            # Strokes of a class added after the start (the live array may hold them before the
            # next re-index notices) have no output in this run's network: unlabeled here.
            lab_patch[lab_patch > self.n_classes] = 0
            k = int(rng.integers(4))
            flip = bool(rng.integers(2))
            images[b] = _orient(img_patch, k, flip)
            labels[b] = _orient(lab_patch, k, flip)
            if weights is not None:
                weights[b] = _orient(w_patch, k, flip)
        return images, labels, weights

    def _fresh_mask(self, img_i: int, plane_idx: tuple, y0: int, x0: int, size: int) -> np.ndarray:
        """(size, size) bool: the fresh stroke pixels in the patch at (y0, x0) of a plane."""
        out = np.zeros((size, size), bool)
        pos = self._fresh_at.get(img_i)
        if pos is None:
            flat = [c.per_image[img_i] for c in self.fresh if c.total > 0]
            pos = self._fresh_at[img_i] = np.unravel_index(
                np.concatenate(flat) if flat else np.zeros(0, np.int64), self.images[img_i].label_shape)
        inside = ((pos[-2] >= y0) & (pos[-2] < y0 + size) & (pos[-1] >= x0) & (pos[-1] < x0 + size))
        for axis, index in enumerate(plane_idx):
            inside &= pos[axis] == index
        out[pos[-2][inside] - y0, pos[-1][inside] - x0] = True
        return out

    def image_patch(self, img_i: int, plane_idx: tuple, y0: int, x0: int, size: int) -> np.ndarray:
        """(C, size, size) float32 normalised image from (y0, x0) of a plane, mirrored beyond it."""
        return np.ascontiguousarray(self._crop(img_i, plane_idx, y0, x0, size, None)[0])

    def _crop(self, img_i: int, plane_idx: tuple, y0: int, x0: int, size: int, weighted: tuple | None):
        plane = self._normalised_plane(img_i, plane_idx)
        lab_plane = self.labels[img_i].data[plane_idx]
        height, width = lab_plane.shape
        ys = slice(max(0, y0), min(height, y0 + size))
        xs = slice(max(0, x0), min(width, x0 + size))
        pads = ((ys.start - y0, y0 + size - ys.stop), (xs.start - x0, x0 + size - xs.stop))
        img = plane[:, ys, xs]
        lab = np.array(lab_plane[ys, xs])  # a copy: the GUI may paint into the live array meanwhile
        w = self._weight_map(img_i, plane_idx, *weighted)[ys, xs] if weighted else None
        if any(p for pair in pads for p in pair):
            mode = "reflect" if min(img.shape[1:]) > 1 else "symmetric"
            img = np.pad(img, ((0, 0),) + pads, mode=mode)
            # Mirrored context is only input: its labels stay "unlabeled".
            lab = np.pad(lab, pads, mode="constant")
            if w is not None:
                w = np.pad(w, pads, mode="constant")
        return img, lab, w

    def _normalised_plane(self, img_i: int, plane_idx: tuple) -> np.ndarray:
        key = (img_i, plane_idx)
        plane = self._planes.get(key)
        if plane is None:
            img = self.images[img_i]
            t, z = _plane_tz(img.label_axes, plane_idx)
            plane = self._planes.put(key, self.normalisations[img_i].apply(img.plane(t, z)))
        return plane

    def _weight_map(self, img_i: int, plane_idx: tuple, border: bool, trust_centres: float,
                    looks: float = 0.0) -> np.ndarray:
        """A plane's pixel weights, kept for the latest few planes. After a re-index they are
        compared with the labels once: stroke trust is updated where the labels changed (the
        border weight of the paper's loss is recomputed whole)."""
        key = (img_i, plane_idx, border, trust_centres, looks)
        kept = self._weights.get(key)
        if kept is not None and key in self._weights_checked:
            return kept.weight
        labels = np.array(self.labels[img_i].data[plane_idx])
        image = self._normalised_plane(img_i, plane_idx) if looks > 0 and trust_centres > 0 else None
        if kept is not None and not border:
            weight = updated_trust(kept.weight, kept.labels, labels, trust_centres, image, looks)
        elif kept is not None and np.array_equal(kept.labels, labels):
            weight = kept.weight
        else:
            weight = stroke_trust(labels, trust_centres, image, looks)
            if border:
                objects = self.border_classes if self.border_classes is not None else list(range(2, self.n_classes + 1))
                weight *= 1.0 + border_weight_map(labels, objects)
        self._weights.put(key, _PlaneWeights(labels, weight))
        self._weights_checked.add(key)
        return weight


class _PlaneWeights:
    """A plane's pixel weights and the labels they were computed from."""

    def __init__(self, labels: np.ndarray, weight: np.ndarray):
        self.labels, self.weight = labels, weight

    @property
    def nbytes(self) -> int:
        return self.labels.nbytes + self.weight.nbytes


def _labeled_pixels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(flat indices, classes) of the labeled pixels of a label array, read from copies of
    _INDEX_CHUNK pixels at a time: the GUI paints into the live array while training indexes
    it (numpy's nonzero fails when the count changes under it)."""
    flat = labels.reshape(-1)
    indices, values = [np.zeros(0, np.intp)], [np.zeros(0, labels.dtype)]
    for start in range(0, flat.size, _INDEX_CHUNK):
        chunk = np.array(flat[start:start + _INDEX_CHUNK])
        at = np.flatnonzero(chunk)
        indices.append(at + start)
        values.append(chunk[at])
    return np.concatenate(indices), np.concatenate(values)


class _Recent:
    """Arrays (or anything with `nbytes`) by key, up to `limit` bytes: the least recently used
    go first (the latest one always stays)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple) -> np.ndarray | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple, item: np.ndarray) -> np.ndarray:
        if key in self._items:
            self._bytes -= self._items.pop(key).nbytes
        self._items[key] = item
        self._bytes += item.nbytes
        while self._bytes > self.limit and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes
        return item

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0


def _index(per_image: list[np.ndarray]) -> _ClassIndex:
    return _ClassIndex(per_image, np.concatenate([[0], np.cumsum([len(a) for a in per_image])]))


def _added(now: np.ndarray, before: np.ndarray, fresh: np.ndarray | None) -> np.ndarray:
    """Pixels (sorted flat indices) of `now` that are new since `before`, or were already fresh
    and are still there."""
    added = np.setdiff1d(now, before, assume_unique=True)
    if fresh is not None and len(fresh):
        added = np.union1d(added, np.intersect1d(now, fresh, assume_unique=True))
    return added


def _orient(patch: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate the last two axes by k*90 degrees, then mirror left-right if flip."""
    patch = np.rot90(patch, k, axes=(-2, -1))
    return patch[..., ::-1] if flip else patch


def _plane_tz(axes: str, plane_idx: tuple) -> tuple[int, int]:
    t = plane_idx[axes.index("T")] if "T" in axes else 0
    z = plane_idx[axes.index("Z")] if "Z" in axes else 0
    return int(t), int(z)
