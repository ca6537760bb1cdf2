"""Objects of a plane too large to hold, window by window, against the same plane split whole,
on real nuclei: the DSB dev images (all but the three scribbled) tiled into one plane.

    python benchmarks/large_plane_objects.py --data ../shared/data [--tiles 17] [--seconds 60]

It trains a model with `unet-studio train` on the three scribbled images, tiles the other 256²
images into a tiles x tiles plane (with their instance labels), then runs `unet-studio predict
--instances` on it twice in this process: whole (the size limit raised) and in parts (the
default limit, 4096 x 4096 px). It prints each run's instance F1 at IoU 0.5 against the truth,
its object count and time, and how the two runs' objects agree (F1 of one against the other).
Uses the unet_studio on PYTHONPATH.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile


def instance_f1(found: np.ndarray, truth: np.ndarray) -> float:
    from skimage.metrics import contingency_table
    from skimage.segmentation import relabel_sequential

    found, truth = relabel_sequential(found)[0], relabel_sequential(truth)[0]
    overlap = contingency_table(truth, found).toarray()[1:, 1:]
    sizes_t, sizes_f = np.bincount(truth.ravel())[1:], np.bincount(found.ravel())[1:]
    iou = overlap / (sizes_t[:, None] + sizes_f[None, :overlap.shape[1]] - overlap)
    return 2 * int((iou > 0.5).sum()) / (len(sizes_t) + len(sizes_f))


def tiled(data: Path, tiles: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The unscribbled 256² dev images and their instances, tiled at random into one plane."""
    names = sorted((data / "dsb2018-nuclei" / "images").glob("*.tif"))[3:]
    pairs = [(tifffile.imread(p), tifffile.imread(p.parent.parent / "instances" / p.name)) for p in names]
    pairs = [(image, truth.astype(np.int64)) for image, truth in pairs if image.shape == (256, 256)]
    rng = np.random.default_rng(seed)
    plane = np.zeros((tiles * 256, tiles * 256), pairs[0][0].dtype)
    truth = np.zeros(plane.shape, np.int64)
    for i in range(tiles):
        for j in range(tiles):
            image, labels = pairs[rng.integers(len(pairs))]
            at = (slice(i * 256, (i + 1) * 256), slice(j * 256, (j + 1) * 256))
            plane[at] = image
            truth[at] = np.where(labels > 0, labels + truth.max(), 0)
    return plane, truth


def main() -> None:
    import unet_studio.core.stack as stack_module
    from unet_studio.cli import main as cli

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--tiles", type=int, default=17, help="tiles across (17: 4352², over the limit)")
    parser.add_argument("--seconds", type=int, default=60, help="training time")
    args = parser.parse_args()
    dsb = args.data / "dsb2018-nuclei"
    scribbled = sorted((dsb / "images").glob("*.tif"))[:3]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        assert cli(["train", *map(str, scribbled), "--labels", *(str(dsb / "scribbles" / p.name) for p in scribbled),
                    "--out", str(folder / "model.pt"), "--time", str(args.seconds), "--seed", "0"]) == 0
        plane, truth = tiled(args.data, args.tiles)
        tifffile.imwrite(folder / "plane.tif", plane)
        found = {}
        for way, limit in (("whole", 10 ** 12), ("in parts", stack_module.WHOLE_PLANE_PIXELS)):
            stack_module.WHOLE_PLANE_PIXELS = limit
            started = time.perf_counter()
            out = folder / way.replace(" ", "-")
            assert cli(["predict", str(folder / "model.pt"), str(folder / "plane.tif"), "--out", str(out),
                        "--instances"]) == 0
            found[way] = tifffile.imread(out / "plane_instances.tif").astype(np.int64)
            print(f"{way:>9}: instance F1 {instance_f1(found[way], truth):.3f}, {found[way].max()} objects "
                  f"({len(np.unique(truth)) - 1} true), {time.perf_counter() - started:.1f} s", flush=True)
        print(f"in parts against whole: F1 {instance_f1(found['in parts'], found['whole']):.3f}")


if __name__ == "__main__":
    main()
