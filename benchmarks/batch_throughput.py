"""Images per second of `unet-studio predict` over a folder: one process against a dask
LocalCluster of 1 and 2 workers (`--workers`), side by side in one run, repeated.

    python benchmarks/batch_throughput.py [--images 24] [--size 512] [--repeats 2] [--views 1] [--volume]

It writes `--images` synthetic uint16 images (bright discs on noise) and a small untrained
model into a temporary folder, then times each way end to end (process start, the cluster's
start, reading, predicting, writing) and prints images/s, the ratio to the single process,
and the spread over the repeats. With --volume the images are the planes of one OME-Zarr volume,
written as OME-Zarr: the cluster shares its planes out (workflow/cluster_volume.py). Needs the
[cluster] extra. Uses the unet_studio on PYTHONPATH.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_memory import write_model, write_zarr_stack  # noqa: E402


def write_images(folder: Path, n: int, size: int) -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    folder.mkdir()
    for i in range(n):
        discs = np.zeros((size, size), bool)
        for cy, cx in rng.integers(20, size - 20, (size // 32, 2)):
            discs |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 100
        tifffile.imwrite(folder / f"img{i:03d}.tif", (200 + 600 * discs + rng.normal(0, 60, discs.shape)).astype(np.uint16))


def seconds(model: Path, images: Path, out: Path, views: int, extra: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "unet_studio", "predict", str(model), str(images),
                           "--out", str(out), "--views", str(views), "--overwrite", *extra],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--views", type=int, default=1)
    parser.add_argument("--volume", action="store_true", help="one OME-Zarr volume of --images planes")
    args = parser.parse_args()
    ways = {"one process": [], "--workers 1": ["--workers", "1"], "--workers 2": ["--workers", "2"]}
    if args.volume:
        ways = {name: extra + ["--format", "ome-zarr"] for name, extra in ways.items()}
    times: dict[str, list[float]] = {name: [] for name in ways}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_model(folder / "model.pt")
        images = folder / ("volume.ome.zarr" if args.volume else "images")
        (write_zarr_stack if args.volume else write_images)(images, args.images, args.size)
        for _ in range(args.repeats):
            for name, extra in ways.items():   # interleaved: a busy moment touches every way
                times[name].append(seconds(folder / "model.pt", images, folder / "out", args.views, extra))
    base = statistics.mean(times["one process"])
    what = "planes of one OME-Zarr volume" if args.volume else "images"
    print(f"{args.images} {what} of {args.size}², --views {args.views}, {args.repeats} repeats")
    print(f"{'way':<13} {'seconds':>16} {'images/s':>9} {'vs one process':>15}")
    for name, values in times.items():
        mean = statistics.mean(values)
        spread = max(values) - min(values)
        print(f"{name:<13} {mean:>9.1f} ± {spread / 2:>4.1f} {args.images / mean:>9.2f} {base / mean:>14.2f}x")


if __name__ == "__main__":
    main()
