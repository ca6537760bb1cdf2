"""The object split's time on real predictions, against the same split with scikit-image's and
scipy's whole-plane steps, interleaved in one run; the objects must be the same.

    python benchmarks/split_speed.py --data ../shared/data [--repeats 3] [--threads 1]

The predictions: the starting model's (background, nucleus, boundary; one view) on the DSB dev
images tiled into a 2048² plane (many small nuclei), on two brightfield 1024² images of
`pretrain-dsb2018` (few nuclei, much background) and on a 1024² plane of synthetic touching
cells (objects everywhere). Each is split as `predict --instances` does it (ml/objects.py:
`parting`, then `find_objects`). The reference replaces three steps by the whole-plane ones
they stand for: skimage.morphology.h_maxima, one distance transform of the whole plane for the
pieces' widths, and scipy.ndimage.maximum for a value's largest in each piece.
"""
from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))

from large_plane_objects import tiled  # noqa: E402
from quality_tasks import DEFAULT_DATA  # noqa: E402

BRIGHTFIELD = ("1b44d2264383", "08275a5b1c2d")


def planes(data: Path) -> dict[str, np.ndarray]:
    from objects_kinds import load_kind

    out = {"DSB dev tiled, 2048²": tiled(data, 8)[0]}
    for name in BRIGHTFIELD:
        image = tifffile.imread(data / "pretrain-dsb2018" / "images" / f"{name}.tif")
        out[f"brightfield {name}, 1024²"] = image if image.ndim == 2 else image[..., :3].mean(-1)
    cells = load_kind("cells", data).eval_images     # 256² each
    out["touching cells (synthetic), 1024²"] = np.block([[cells[(i * 4 + j) % len(cells)] for j in range(4)]
                                                         for i in range(4)])
    return out


def predictions(images: dict[str, np.ndarray]) -> dict[str, tuple]:
    from unet_studio.ml.predict import predict_plane
    from unet_studio.ml.starting_model import load_starting_model

    model = load_starting_model(3)
    out = {}
    for name, image in images.items():
        found = predict_plane(model, image, views=1)
        out[name] = (np.isin(found.mask, [2]), found.probabilities[1], found.probabilities[2])
    return out


def split(foreground, probability, boundary) -> np.ndarray:
    from unet_studio.ml import objects

    parts = objects.parting(boundary, None, foreground, probability)
    return objects.find_objects(foreground, probability, object_size=parts.size, boundary=parts.boundary,
                                parted_by=parts.parted_by)


@contextmanager
def whole_plane_steps():
    """ml/objects.py with the whole-plane steps its own stand for."""
    from scipy import ndimage
    from skimage.morphology import h_maxima

    from unet_studio.ml import object_joins, object_shavings, objects

    def maxima(values, labels, n):
        return np.asarray(ndimage.maximum(values, labels, np.arange(n + 1)), np.float64)

    def piece_widths(foreground, z_spacing):
        pieces, n = ndimage.label(foreground)
        distance = ndimage.distance_transform_edt(foreground, sampling=objects._sampling(foreground.ndim, z_spacing))
        return 2 * maxima(distance, pieces, n)[1:], np.bincount(pieces.ravel(), minlength=n + 1)[1:].astype(float)

    saved = [(objects, "h_maxima"), (objects, "_piece_widths"), (object_joins, "label_maxima"),
             (object_shavings, "label_maxima")]
    before = [getattr(module, name) for module, name in saved]
    for module, name in saved:
        setattr(module, name, {"h_maxima": h_maxima, "_piece_widths": piece_widths}.get(name, maxima))
    try:
        yield
    finally:
        for (module, name), value in zip(saved, before):
            setattr(module, name, value)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    found = predictions(planes(args.data))
    print(f"{'plane':<40} {'objects':>7} {'ours s':>13} {'whole-plane s':>14} {'speed-up':>9}")
    for name, (foreground, probability, boundary) in found.items():
        ours, whole, labels = [], [], {}
        for _ in range(args.repeats):
            for times, way in ((ours, None), (whole, whole_plane_steps)):
                started = time.perf_counter()
                if way is None:
                    labels["ours"] = split(foreground, probability, boundary)
                else:
                    with way():
                        labels["whole"] = split(foreground, probability, boundary)
                times.append(time.perf_counter() - started)
        same = hashlib.md5(labels["ours"].tobytes()).digest() == hashlib.md5(labels["whole"].tobytes()).digest()
        ratios = [w / o for o, w in zip(ours, whole)]
        print(f"{name:<40} {int(labels['ours'].max()):>7} {statistics.mean(ours):>6.2f} ± {statistics.pstdev(ours):.2f} "
              f"{statistics.mean(whole):>7.2f} ± {statistics.pstdev(whole):.2f} {statistics.mean(ratios):>5.1f}x "
              f"({min(ratios):.1f}-{max(ratios):.1f}){'' if same else '  OBJECTS DIFFER'}", flush=True)


if __name__ == "__main__":
    main()
