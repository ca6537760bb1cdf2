"""Benchmark: U-Net from scribbles vs the random-forest baseline, on ../shared/data.

    python benchmarks/bench_engine.py [--data ../shared/data] [--times 30 60 120] [--seeds 0]

For each task (isbi, dsb) and training time: train from the scribbles with the engine's
defaults, predict the test images, score them; the random forest runs on the same scribbles
in the same run. Throughput is reported against a matmul peak measured in the same run
(the machine may be shared: compare ratios, not absolute numbers). Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import unet_studio.ml  # noqa: E402,F401  (before torch: sets the OpenMP wait policy)
import torch  # noqa: E402

# The tasks, scores and forest baseline are shared with benchmarks/quality.py, so both
# benchmarks measure the same thing.
from quality_tasks import DEFAULT_DATA, TASKS, forest_masks, instance_f1, pixel_scores  # noqa: E402

from unet_studio.core.stack import Stack  # noqa: E402
from unet_studio.ml.device import inference_dtype, use_all_cpu_cores  # noqa: E402
from unet_studio.ml.predict import predict_plane, split_instances  # noqa: E402
from unet_studio.ml.tiling import prepare_inference  # noqa: E402
from unet_studio.ml.train import TrainConfig, train  # noqa: E402


def matmul_peak(dtype=torch.float32, n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of an n x n matmul on this device (all threads)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(3):
            a @ b
        best = max(best, 3 * 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def train_flops(net, batch: int, patch: int) -> float:
    """FLOPs of one training step (forward + backward) for a batch of patches."""
    from torch.utils.flop_counter import FlopCounterMode

    probe = type(net)(**net.arch)
    with FlopCounterMode(display=False) as counter:
        probe(torch.zeros(batch, net.arch["in_channels"], patch, patch)).sum().backward()
    return float(counter.get_total_flops())


def forward_flops_per_pixel(net) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    side = net.input_size_for(256)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        type(net)(**net.arch).eval()(torch.zeros(1, net.arch["in_channels"], side, side))
    return counter.get_total_flops() / side / side


def data_vs_step(task, config: TrainConfig) -> dict:
    """Milliseconds per batch spent making data (sampling + augmentation) vs one optimiser step."""
    from unet_studio.ml.augment import elastic_deform, jitter_intensity
    from unet_studio.ml.data import TrainingSet
    from unet_studio.ml.loss import labeled_cross_entropy, labels_to_target
    from unet_studio.ml.unet import UNet

    data = TrainingSet([_stack(im) for im in task.train_images], task.train_labels, len(task.classes))
    net = UNet(1, len(task.classes), config.depth, config.width or 16, config.norm).to(
        memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters())
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    t_data = t_step = 0.0
    for i in range(15):
        t0 = time.perf_counter()
        x, y, _ = data.sample(rng, config.batch, config.patch)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        x, y, _ = elastic_deform(x, y, None, gen)
        x = jitter_intensity(x, gen)
        t1 = time.perf_counter()
        loss = labeled_cross_entropy(net(x.contiguous(memory_format=torch.channels_last)), labels_to_target(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        if i >= 3:
            t_data += t1 - t0
            t_step += t2 - t1
    return {"data_ms": t_data / 12 * 1000, "step_ms": t_step / 12 * 1000}


def _stack(image: np.ndarray) -> Stack:
    return Stack.from_array(image, "ZYX"[-image.ndim:], name="train")


def run_unet(task, seconds: float, seed: int, overrides: dict) -> dict:
    stacks = [_stack(im) for im in task.train_images]
    config = TrainConfig(time_budget=seconds, seed=seed, **overrides)
    last = None
    for last in train(stacks, list(task.train_labels), task.classes, config):
        pass
    model = last.model
    flops = train_flops(model.net, last.batch, config.patch) * last.step
    # One view: the network's own throughput (the app's kept predictions average 4 views,
    # 4x this work; quality.py scores those).
    inference = prepare_inference(model.net, "cpu", views=1)
    start = time.perf_counter()
    masks = [predict_plane(model, im, inference=inference).mask for im in task.eval_images]
    predict_s = time.perf_counter() - start
    pixels = sum(im.size for im in task.eval_images)
    return {"masks": masks, "steps": last.step, "train_s": last.elapsed,
            "patches_per_s": last.model.summary["patches"] / last.elapsed,
            "train_gflops": flops / last.elapsed / 1e9,
            "predict_mpx_s": pixels / predict_s / 1e6,
            "predict_gflops": forward_flops_per_pixel(model.net) * pixels / predict_s / 1e9,
            "final_loss": last.loss}


def score(task, masks) -> dict:
    scores = pixel_scores(task, masks)
    for i, name in enumerate(task.classes, start=1):
        scores[f"iou_{i}"] = scores.pop(f"iou_{name}")
    if task.eval_instances is not None:
        scores["instance_f1"] = instance_f1(task, [split_instances(m == task.object_class) for m in masks])
    return scores


def run_forest(task) -> dict:
    start = time.perf_counter()
    masks = forest_masks(task)
    seconds = time.perf_counter() - start
    return {"masks": masks, "train_s": seconds,
            "predict_mpx_s": sum(im.size for im in task.eval_images) / seconds / 1e6}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tasks", nargs="+", default=["isbi", "dsb"], choices=["isbi", "dsb"])
    parser.add_argument("--times", nargs="+", type=float, default=[30, 60, 120])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--no-forest", action="store_true")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="TrainConfig overrides, e.g. width=32 norm=group")
    parser.add_argument("--json", type=Path, default=None, help="also write all numbers here")
    args = parser.parse_args(argv)
    overrides = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    use_all_cpu_cores()
    # Prediction's own precision: a bf16 matmul only where the CPU computes it natively (it
    # is emulated elsewhere and a 2048² one takes minutes).
    predicting = inference_dtype(torch.device("cpu"))
    peak32 = matmul_peak()
    peak16 = matmul_peak(torch.bfloat16) if predicting == torch.bfloat16 else peak32
    print(f"# matmul peak: fp32 {peak32:.0f} GFLOP/s, prediction ({predicting}) {peak16:.0f} GFLOP/s, "
          f"{torch.get_num_threads()} threads; overrides {overrides or 'none'}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for name in args.tasks:
        task = TASKS[name](args.data)
        timing = data_vs_step(task, TrainConfig(**overrides))
        print(f"# {name}: data {timing['data_ms']:.1f} ms per batch vs step {timing['step_ms']:.0f} ms", flush=True)
        if not args.no_forest:
            forest = run_forest(task)
            rows.append({"task": name, "method": "random forest", "train_s": forest["train_s"],
                         "predict_mpx_s": forest["predict_mpx_s"], **score(task, forest["masks"])})
            print(_row(rows[-1], peak32, peak16), flush=True)
        for seconds in args.times:
            for seed in args.seeds:
                result = run_unet(task, seconds, seed, overrides)
                rows.append({"task": name, "method": f"U-Net {seconds:g} s", "seed": seed,
                             **{k: v for k, v in result.items() if k != "masks"}, **score(task, result["masks"])})
                print(_row(rows[-1], peak32, peak16), flush=True)
    peak32 = max(peak32, matmul_peak())
    print(f"# matmul peak at the end: fp32 {matmul_peak():.0f} GFLOP/s; load average {os.getloadavg()[0]:.1f}")
    print()
    print(_HEADER)
    for row in rows:
        print(_row(row, peak32, peak16))
    if args.json:
        args.json.write_text(json.dumps({"peak_fp32": peak32, "peak_bf16": peak16, "rows": rows}, indent=1))
    return 0


_HEADER = ("| task | method | train s | steps | patches/s | train GFLOP/s (% fp32 peak) | predict Mpx/s "
           "(% peak in its precision) | IoU 1 | IoU 2 | F1 | pixel error | instance F1 |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|")


def _row(r: dict, peak32: float, peak16: float) -> str:
    def f(key, fmt="{:.3f}"):
        return fmt.format(r[key]) if key in r and r[key] is not None else "-"
    train = f"{r['train_gflops']:.0f} ({100 * r['train_gflops'] / peak32:.0f} %)" if "train_gflops" in r else "-"
    pred = f"{r['predict_mpx_s']:.2f}"
    if "predict_gflops" in r:
        pred += f" ({100 * r['predict_gflops'] / peak16:.0f} %)"
    return (f"| {r['task']} | {r['method']} | {f('train_s', '{:.0f}')} | {f('steps', '{}')} | "
            f"{f('patches_per_s', '{:.0f}')} | {train} | {pred} | {f('iou_1')} | {f('iou_2')} | {f('f1')} | "
            f"{f('pixel_error')} | {f('instance_f1')} |")


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


if __name__ == "__main__":
    sys.exit(main())
