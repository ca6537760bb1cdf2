"""Peak memory of `unet-studio predict` as the stack grows: it should stay flat.

    python benchmarks/predict_memory.py [--planes 10 60 200] [--size 1024] [--views 1] [--zarr]

For each number of planes it writes a synthetic uint16 Z stack (size x size, bright discs on
noise) and a small untrained model into a temporary folder, then runs `unet-studio predict` in
a fresh process, with and without --probabilities, and prints that process's peak resident
memory (ru_maxrss). The input image alone is `planes x size² x 2` bytes; a flat column means
prediction and writing hold a few planes, not the stack. With --zarr the stack is an OME-Zarr
volume and the results are written as OME-Zarr (`--format ome-zarr`); `--planes 2000` makes
it 4 GB. With --plane SIDE the image is one SIDE x SIDE plane instead (a tiled TIFF, or with
--zarr an OME-Zarr), written block by block: a plane over 4096 x 4096 px is predicted and
written part by part (ml/plane_parts.py), so the peak follows the plane's width, not its area;
`--plane 46341 --zarr` is a 4 GB plane. Uses the unet_studio found on
PYTHONPATH, so the same script measures another checkout.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MEASURE = ("import resource, sys\n"
           "from unet_studio.cli import main\n"
           "code = main(sys.argv[1:])\n"
           "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
           "print(f'PEAK_KB {peak}', file=sys.stderr)\n"
           "try:\n"
           "    status = open('/proc/self/status').read().split()\n"
           "    print(f'FILE_KB {status[status.index(\"RssFile:\") + 1]}', file=sys.stderr)\n"
           "except (OSError, ValueError):\n"
           "    pass\n"
           "sys.exit(code)\n")


def write_stack(path: Path, planes: int, size: int, seed: int = 0) -> None:
    """A Z stack written plane by plane (the benchmark itself must not hold it)."""
    import tifffile

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]

    def plane_iter():
        for _ in range(planes):
            discs = np.zeros((size, size), bool)
            for cy, cx in rng.integers(20, size - 20, (size // 32, 2)):
                discs |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 100
            yield (200 + 600 * discs + rng.normal(0, 60, discs.shape)).astype(np.uint16)

    tifffile.imwrite(path, plane_iter(), shape=(planes, size, size), dtype=np.uint16, imagej=True,
                     metadata={"axes": "ZYX"})


def write_zarr_stack(path: Path, planes: int, size: int, seed: int = 0) -> None:
    """The same planes as an OME-Zarr volume (NGFF 0.4), written plane by plane."""
    import zarr

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    array = group.create_array("0", shape=(planes, size, size), dtype=np.uint16,
                               chunks=(1, min(size, 512), min(size, 512)),
                               chunk_key_encoding={"name": "v2", "separator": "/"})
    for z in range(planes):
        discs = np.zeros((size, size), bool)
        for cy, cx in rng.integers(20, size - 20, (size // 32, 2)):
            discs |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 100
        array[z] = (200 + 600 * discs + rng.normal(0, 60, discs.shape)).astype(np.uint16)
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_multiscales_metadata

    write_multiscales_metadata(group, [{"path": "0", "coordinateTransformations": [
        {"type": "scale", "scale": [2.0, 0.5, 0.5]}]}], fmt=FormatV04(), axes=axes)


def discs_block(rng, height: int, width: int) -> np.ndarray:
    """A uint16 block of bright discs (radius 10) on noise, one disc per 32 x 32 px."""
    yy, xx = np.mgrid[:height, :width]
    discs = np.zeros((height, width), bool)
    for cy, cx in zip(rng.integers(0, height, height * width // 1024), rng.integers(0, width, height * width // 1024)):
        y0, x0 = max(cy - 10, 0), max(cx - 10, 0)
        box = (slice(y0, cy + 11), slice(x0, cx + 11))
        discs[box] |= (yy[box] - cy) ** 2 + (xx[box] - cx) ** 2 <= 100
    return (200 + 600 * discs + rng.normal(0, 60, discs.shape)).astype(np.uint16)


def write_plane(path: Path, side: int, as_zarr: bool, seed: int = 0, block: int = 512) -> None:
    """One side x side plane, written block by block (never held whole): a tiled TIFF
    (BigTIFF) or an OME-Zarr with one chunk per block."""
    rng = np.random.default_rng(seed)
    corners = [(y, x) for y in range(0, side, block) for x in range(0, side, block)]
    if not as_zarr:
        import tifffile

        def tiles():
            for y, x in corners:
                tile = np.zeros((block, block), np.uint16)
                filled = discs_block(rng, min(block, side - y), min(block, side - x))
                tile[:filled.shape[0], :filled.shape[1]] = filled
                yield tile

        tifffile.imwrite(path, tiles(), shape=(side, side), dtype=np.uint16, tile=(block, block),
                         bigtiff=True)
        return
    import zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_multiscales_metadata

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    array = group.create_array("0", shape=(side, side), dtype=np.uint16, chunks=(block, block),
                               chunk_key_encoding={"name": "v2", "separator": "/"})
    for y, x in corners:
        array[y:y + block, x:x + block] = discs_block(rng, min(block, side - y), min(block, side - x))
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "yx"]
    write_multiscales_metadata(group, [{"path": "0", "coordinateTransformations": [
        {"type": "scale", "scale": [0.5, 0.5]}]}], fmt=FormatV04(), axes=axes)


def write_model(path: Path, trained: bool = False) -> None:
    """An untrained model (memory does not depend on its answers), or with `trained` one that
    has learnt the discs for 100 steps, so objects are found where they are."""
    import torch

    from unet_studio.ml.model_file import Model, class_dicts, save_model
    from unet_studio.ml.unet import UNet

    torch.manual_seed(0)
    if not trained:
        save_model(path, Model(UNet(1, 2, depth=3, width=8).eval(), class_dicts(["background", "cells"])))
        return
    from unet_studio.ml.train import TrainConfig, train

    image = discs_block(np.random.default_rng(1), 512, 512)
    labels = np.zeros(image.shape, np.uint8)
    labels[::3, ::3] = np.where(image[::3, ::3] > 500, 2, 1)
    config = TrainConfig(steps=100, width=8, depth=3, patch=128, batch=4, device="cpu", seed=0)
    for progress in train([image], [labels], ["background", "cells"], config):
        pass
    save_model(path, progress.model)


def peak_mb(model: Path, image: Path, out: Path, probabilities: bool, views: int,
            zarr: bool = False, objects: bool = False) -> float:
    args = ["predict", str(model), str(image), "--out", str(out), "--views", str(views), "--device", "cpu"]
    if zarr:
        args += ["--format", "ome-zarr"]
    if probabilities:
        args.append("--probabilities")
    if objects:
        args.append("--instances")
    done = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    numbers = {x.split()[0]: int(x.split()[1]) / 1024 for x in done.stderr.splitlines()
               if x.startswith(("PEAK_KB", "FILE_KB"))}
    return numbers["PEAK_KB"], numbers.get("FILE_KB", float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planes", type=int, nargs="+", default=[10, 60, 200])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--views", type=int, default=1, help="mirrored views (1 is fastest; "
                        "memory does not depend on it)")
    parser.add_argument("--zarr", action="store_true", help="OME-Zarr in and out instead of TIFF")
    parser.add_argument("--masks-only", action="store_true",
                        help="skip the run with --probabilities (half the time; for the largest stacks)")
    parser.add_argument("--plane", type=int, nargs="+", metavar="SIDE",
                        help="one SIDE x SIDE plane per run instead of stacks of --size planes")
    parser.add_argument("--objects", action="store_true",
                        help="with --plane: also instances and the object table, with a model "
                        "trained on the discs (its count is printed against the discs drawn)")
    args = parser.parse_args()
    if args.plane:
        return one_plane(args)
    # "file MB": resident pages of mapped files at the end (the input image is memory-mapped
    # when uncompressed: its pages count in RSS but are the page cache's, freed under pressure).
    print(f"{'planes':>6} {'image MB':>9} {'peak MB (mask)':>15} {'file MB':>8} "
          f"{'peak MB (+probabilities)':>25} {'file MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_model(folder / "model.pt")
        for planes in args.planes:
            image = folder / (f"stack{planes}.ome.zarr" if args.zarr else f"stack{planes}.tif")
            (write_zarr_stack if args.zarr else write_stack)(image, planes, args.size)
            kinds = (False,) if args.masks_only else (False, True)
            row = [peak_mb(folder / "model.pt", image, folder / f"out{planes}-{p}", p, args.views, args.zarr)
                   for p in kinds] + [(float("nan"), float("nan"))] * (2 - len(kinds))
            image_mb = planes * args.size ** 2 * 2 / 2 ** 20
            print(f"{planes:>6} {image_mb:>9.0f} {row[0][0]:>15.0f} {row[0][1]:>8.0f} "
                  f"{row[1][0]:>25.0f} {row[1][1]:>8.0f}", flush=True)
            shutil.rmtree(image) if image.is_dir() else image.unlink()
            for p in kinds:
                shutil.rmtree(folder / f"out{planes}-{p}")


def one_plane(args) -> None:
    """Peak memory and time of `predict` on single planes of growing side."""
    import time

    print(f"{'side':>6} {'image MB':>9} {'peak MB':>8} {'file MB':>8} {'seconds':>8} {'Mpx/s':>6}"
          + (f" {'objects':>9}" if args.objects else ""))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_model(folder / "model.pt", trained=args.objects)
        for side in args.plane:
            image = folder / (f"plane{side}.ome.zarr" if args.zarr else f"plane{side}.tif")
            write_plane(image, side, args.zarr)
            start = time.perf_counter()
            peak, file_mb = peak_mb(folder / "model.pt", image, folder / f"out{side}", False, args.views,
                                    args.zarr, args.objects)
            seconds = time.perf_counter() - start
            found = ""
            if args.objects:
                with open(folder / f"out{side}" / f"plane{side}_objects.csv") as table:
                    found = f" {sum(1 for _ in table) - 1:>9}"
            print(f"{side:>6} {side * side * 2 / 2 ** 20:>9.0f} {peak:>8.0f} {file_mb:>8.0f} {seconds:>8.0f} "
                  f"{side * side / seconds / 1e6:>6.2f}{found}", flush=True)
            shutil.rmtree(image) if image.is_dir() else image.unlink()
            shutil.rmtree(folder / f"out{side}")


if __name__ == "__main__":
    main()
