"""Benchmark: `unet-studio predict` end to end against the random forest, on the same images
in the same run.

    python benchmarks/predict_speed.py [--data ../shared/data] [--sets em nuclei stack]
        [--views 2 1 4] [--repeats 3] [--json out.json]

Image sets, written as TIFFs into a temporary folder: `em`, ISBI 2012 slices 10-29, one file
each (5.2 Mpx); `nuclei`, the 37 scored DSB 2018 images (2.4 Mpx); `stack`, the 20 ISBI slices
scaled to 1024² in one Z stack (21 Mpx, the issue's "20 x 1024² stack").

Our model: the starting model fine-tuned 100 steps on the set's task strokes (its weights decide
the scores, not the speed). Ours: `unet-studio predict MODEL FILES --out DIR --overwrite` in a
fresh process, timed from its start to its exit: process start, torch import, reading,
predicting, writing the masks. The forest: 100 trees trained on the same strokes
(quality_tasks.fit_forest); timed are its features and trees on every image, all cores
(reading, fitting and the process not counted, as the issue's reference). The repeats
interleave the forest and each `--views` so a load on the machine hits all of them alike;
the table gives Mpx/s (mean ± sd of the repeats) and ours / forest per repeat.

The network alone: one 1024² tile in one view, GFLOP/s against a 2048² matmul in the precision
prediction uses (bf16 on CPUs with AMX, fp32 elsewhere), both measured in this run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import unet_studio.ml  # noqa: E402,F401  (before torch: sets the OpenMP wait policy)
import torch  # noqa: E402

from bench_engine import forward_flops_per_pixel, matmul_peak  # noqa: E402
from quality import train_snapshots  # noqa: E402
from quality_tasks import DEFAULT_DATA, TASKS, fit_forest, forest_predict  # noqa: E402

SETS = {"em": "isbi", "nuclei": "dsb", "stack": "isbi"}


def set_files(name: str, task, folder: Path) -> list[Path]:
    """Write the images of set `name` under `folder`; returns the files."""
    import tifffile
    from skimage.transform import resize

    folder.mkdir(parents=True, exist_ok=True)
    if name == "stack":
        planes = np.stack([resize(p, (1024, 1024), order=1, preserve_range=True).astype(p.dtype)
                           for p in task.eval_images])
        path = folder / "stack.tif"
        tifffile.imwrite(path, planes, imagej=True, metadata={"axes": "ZYX"})
        return [path]
    files = []
    for i, plane in enumerate(task.eval_images):
        files.append(folder / f"{name}{i:03d}.tif")
        tifffile.imwrite(files[-1], plane)
    return files


def run_ours(model: Path, files: list[Path], out: Path, views: int) -> float:
    """Seconds of one `unet-studio predict` process, start to exit."""
    command = [sys.executable, "-m", "unet_studio", "predict", str(model), *map(str, files),
               "--out", str(out), "--overwrite", "--views", str(views)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"predict failed:\n{done.stderr}")
    return seconds


def run_forest(forest, files: list[Path]) -> float:
    """Seconds of the forest's features and trees over every plane of `files`."""
    import tifffile

    images = [np.asarray(tifffile.imread(f)) for f in files]
    planes = [plane for image in images for plane in image.reshape(-1, *image.shape[-2:])]
    start = time.perf_counter()
    for plane in planes:
        forest_predict(forest, plane)
    return time.perf_counter() - start


def network_share(model) -> dict:
    """The network alone on a 1024² tile, one view, against a matmul peak of this run."""
    from unet_studio.ml.tiling import iter_predict, prepare_inference

    inf = prepare_inference(model.net, "cpu", views=1)
    x = np.random.default_rng(0).random((model.in_channels, 1024, 1024), np.float32)
    out = np.empty((model.net.n_outputs, 1024, 1024), np.float32)
    for _ in iter_predict(inf, x, out):
        pass
    start = time.perf_counter()
    for _ in iter_predict(inf, x, out):
        pass
    seconds = time.perf_counter() - start
    gflops = forward_flops_per_pixel(model.net) * 1024 * 1024 / seconds / 1e9
    peak = matmul_peak(inf.dtype)
    return {"dtype": str(inf.dtype).replace("torch.", ""), "net_gflops": round(gflops, 1),
            "peak_gflops": round(peak, 1), "share": round(gflops / peak, 3),
            "net_mpx_s": round(1.048576 / seconds, 3)}


def measure_set(name: str, args, work: Path) -> dict:
    from unet_studio.ml.device import use_all_cpu_cores
    from unet_studio.ml.model_file import save_model

    use_all_cpu_cores()
    task = TASKS[SETS[name]](Path(args.data))
    files = set_files(name, task, work / name)
    snapshots, _ = train_snapshots(task, "starting", 0, [100], {}, by_steps=True)
    model_path = work / f"{name}.pt"
    save_model(model_path, snapshots[0][2])
    forest = fit_forest(task, n_jobs=os.cpu_count() or 1)
    mpx = sum(np.prod(tifffile_shape(f)) for f in files) / 1e6
    times: dict[str, list[float]] = {"forest": []}
    for _ in range(args.repeats):
        times["forest"].append(run_forest(forest, files))
        for views in args.views:
            times.setdefault(f"views {views}", []).append(run_ours(model_path, files, work / "out", views))
    result = {"set": name, "mpx": round(mpx, 2), "files": len(files), "seconds": times,
              "network": network_share(snapshots[0][2])}
    for key, seconds in times.items():
        rates = [mpx / s for s in seconds]
        result[key] = {"mpx_s": round(statistics.mean(rates), 3),
                       "sd": round(statistics.stdev(rates), 3) if len(rates) > 1 else 0.0}
        if key != "forest":
            ratios = [f / s for f, s in zip(times["forest"], seconds)]
            result[key]["vs_forest"] = round(statistics.mean(ratios), 2)
            result[key]["vs_forest_sd"] = round(statistics.stdev(ratios), 2) if len(ratios) > 1 else 0.0
    return result


def tifffile_shape(path: Path) -> tuple[int, ...]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return tif.series[0].shape


def print_table(results: list[dict]) -> None:
    print("| set | Mpx | what | Mpx/s | ours / forest |")
    print("|---|---|---|---|---|")
    for r in results:
        for key in r["seconds"]:
            ratio = "" if key == "forest" else f"{r[key]['vs_forest']} ± {r[key]['vs_forest_sd']}"
            print(f"| {r['set']} | {r['mpx']} | {key} | {r[key]['mpx_s']} ± {r[key]['sd']} | {ratio} |")
    for r in results:
        n = r["network"]
        print(f"{r['set']}: network alone {n['net_mpx_s']} Mpx/s, {n['net_gflops']} GFLOP/s = "
              f"{n['share'] * 100:.0f} % of the {n['dtype']} matmul ({n['peak_gflops']} GFLOP/s)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--sets", nargs="+", choices=list(SETS), default=["em", "nuclei"])
    p.add_argument("--views", nargs="+", type=int, default=[2, 1, 4])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure_set(name, args, Path(tmp)) for name in args.sets]
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
