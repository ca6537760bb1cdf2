"""Reproduce resources/starting_model.pt: a small generic U-Net that unet_studio fine-tunes
from when the user clicks Train.

    .venv/bin/python packaging/starting_model/train_starting_model.py \
        --data ../shared/data/pretrain-dsb2018 --minutes 65 --threads 2 --work /tmp/starting-model

Trains the engine's UNet (one grey input channel, 3 classes: background, object interior,
object boundary) on the DSB2018 pool (CC0, see README.md) and on synthetic membranes and
blobs (synthetic.py), with random zoom, flips, rotations, the engine's elastic deformation
and intensity jitter. Progress goes to stdout; every few minutes the weight average (EMA)
is written atomically to WORK/starting_model.pt and the full training state to
WORK/state.pt, so the run can be stopped at any time and resumed with --resume.
At the end (or with --export-only) the EMA weights are written in half precision to --out.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pool import PoolImage, load_pool  # noqa: E402
from em import em_section  # noqa: E402
from synthetic import BOUNDARY, INTERIOR, blobs, membranes  # noqa: E402
from unet_studio.core.atomic import atomic_path  # noqa: E402
from unet_studio.ml.augment import elastic_deform, jitter_intensity  # noqa: E402
from unet_studio.ml.device import adamw, autocast, training_memory_format  # noqa: E402
from unet_studio.ml.model_file import Model, load_model, save_model  # noqa: E402
from unet_studio.ml.normalise import HIGH_PCT, LOW_PCT  # noqa: E402
from unet_studio.ml.unet import UNet  # noqa: E402

CLASSES = [{"name": "background", "color": [96, 128, 176]},
           {"name": "object", "color": [255, 184, 0]},
           {"name": "boundary", "color": [230, 60, 60]}]
# Boundaries are ~10 % of object pixels; a mild weight keeps them from being ignored without
# making the model paint every edge thick.
CLASS_WEIGHTS = (1.0, 1.0, 2.0)
# Share of each source in a batch (the first run's mix; --sources changes it).
SOURCES = "pool=0.55,membranes=0.30,blobs=0.15"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    repo = HERE.parents[1]
    p.add_argument("--data", default=str(repo.parent / "shared" / "data" / "pretrain-dsb2018"))
    p.add_argument("--out", default=str(repo / "resources" / "starting_model.pt"))
    p.add_argument("--work", default="/tmp/starting-model")
    p.add_argument("--minutes", type=float, default=40.0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 was 6x faster than 2 on a 2-core machine shared with other jobs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--patch", type=int, default=128)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--norm", default="group")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--synthetic", type=int, default=360, help="synthetic images generated up front")
    p.add_argument("--em", type=int, default=0, help="synthetic EM sections (em.py) generated up front")
    p.add_argument("--sources", default=SOURCES,
                   help="share of each source in a batch: pool, membranes, blobs, em (default %(default)s)")
    p.add_argument("--leave-out", help="a text file of pool image names (one per line) never trained on: "
                   "the benchmark's held-out groups (benchmarks/objects_kinds.py --data DATA lists them)")
    p.add_argument("--init", help="start from this model file (a previous run's weights) instead of random")
    p.add_argument("--checkpoint-every", type=float, default=3.0, help="minutes")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export-only", action="store_true", help="write --out from WORK/state.pt and stop")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.export_only:
        state = torch.load(work / "state.pt", weights_only=True)
        export(_ema_model(args, state), args.out, state["summary"])
        return 0
    train(args, work)
    return 0


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


# -- data -----------------------------------------------------------------------------------
class Sampler:
    """Random zoomed, rotated crops of pool and synthetic images -> (B, 1, P, P), (B, P, P)."""

    def __init__(self, pool: list[PoolImage], synthetic: dict[str, list[tuple[np.ndarray, np.ndarray]]],
                 patch: int, rng: np.random.Generator, sources: dict[str, float]):
        self.sets = {"pool": [(im.image, im.target) for im in pool], **synthetic}
        self.patch, self.rng = patch, rng
        self.names = [name for name, w in sources.items() if w > 0]
        missing = [name for name in self.names if not self.sets.get(name)]
        if missing:
            raise SystemExit(f"--sources names {missing}, but no such images were made (see --em)")
        self.weights = np.array([sources[name] for name in self.names])
        self.weights = self.weights / self.weights.sum()

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for _ in range(n):
            source = self.names[self.rng.choice(len(self.names), p=self.weights)]
            image, target = self.sets[source][self.rng.integers(len(self.sets[source]))]
            x, y = self._crop(image, target)
            xs.append(x)
            ys.append(y)
        return torch.stack(xs), torch.stack(ys)

    def _crop(self, image: np.ndarray, target: np.ndarray):
        # Zoom 0.6x-1.7x: users' pixel sizes differ, so object sizes in pixels do too.
        zoom = math.exp(self.rng.uniform(math.log(0.6), math.log(1.7)))
        side = max(8, int(round(self.patch / zoom)))
        h, w = image.shape
        y0 = int(self.rng.integers(min(0, h - side), max(0, h - side) + 1))
        x0 = int(self.rng.integers(min(0, w - side), max(0, w - side) + 1))
        ys, xs = slice(max(0, y0), min(h, y0 + side)), slice(max(0, x0), min(w, x0 + side))
        pads = ((ys.start - y0, y0 + side - ys.stop), (xs.start - x0, x0 + side - xs.stop))
        img, tgt = image[ys, xs], target[ys, xs]
        if any(v for pair in pads for v in pair):
            img = np.pad(img, pads, mode="reflect" if min(img.shape) > max(max(pads)) else "symmetric")
            tgt = np.pad(tgt, pads, mode="constant")  # 0 = no loss on mirrored context
        k, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
        img, tgt = np.rot90(img, k), np.rot90(tgt, k)
        if flip:
            img, tgt = img[:, ::-1], tgt[:, ::-1]
        x = torch.from_numpy(np.ascontiguousarray(img, np.float32))[None, None]
        y = torch.from_numpy(np.ascontiguousarray(tgt))[None, None].float()
        if side != self.patch:
            x = F.interpolate(x, size=(self.patch, self.patch), mode="bilinear", align_corners=False,
                              antialias=side > self.patch)
            y = F.interpolate(y, size=(self.patch, self.patch), mode="nearest")
        return x[0], y[0, 0].to(torch.uint8)


def make_synthetic(n: int, size: int, seed: int, n_em: int = 0) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    n_membranes = int(n * 0.65)
    made = {"membranes": [membranes(size, rng) for _ in range(n_membranes)],
            "blobs": [blobs(size, rng) for _ in range(n - n_membranes)]}
    if n_em:   # its own generator, so the first run's images stay the same
        em_rng = np.random.default_rng(seed + 7919)
        made["em"] = [em_section(size, em_rng) for _ in range(n_em)]
    return made


def parse_sources(text: str) -> dict[str, float]:
    try:
        return {name.strip(): float(w) for name, w in (part.split("=") for part in text.split(","))}
    except ValueError:
        raise SystemExit(f"--sources: expected name=share,..., got {text!r}") from None


def _names(path: str | None) -> set[str]:
    """Image stems listed in `path` (names with or without .tif), or none."""
    if not path:
        return set()
    return {Path(line.strip()).stem for line in Path(path).read_text().splitlines() if line.strip()}


# -- validation -----------------------------------------------------------------------------
def validate(net: torch.nn.Module, items: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, str]:
    """Per group: object IoU (interior + boundary vs the rest) and boundary F1 on 256 px crops."""
    was = net.training
    net.eval()
    scores: dict[str, list] = {}
    with torch.no_grad():
        for group, image, target in items:
            pred = net(torch.from_numpy(image)[None, None]).argmax(1)[0].numpy() + 1
            obj_p, obj_t = pred >= INTERIOR, target >= INTERIOR
            b_p, b_t = pred == BOUNDARY, target == BOUNDARY
            iou = (obj_p & obj_t).sum() / max((obj_p | obj_t).sum(), 1)
            f1 = 2 * (b_p & b_t).sum() / max(b_p.sum() + b_t.sum(), 1)
            scores.setdefault(group, []).append((iou, f1))
    net.train(was)
    return {g: "IoU %.3f bF1 %.3f (n=%d)" % (*np.mean(v, 0), len(v)) for g, v in scores.items()}


def _centre_crop(a: np.ndarray, side: int) -> np.ndarray:
    h, w = a.shape
    if h < side or w < side:
        a = np.pad(a, ((0, max(0, side - h)), (0, max(0, side - w))), mode="reflect")
        h, w = a.shape
    y0, x0 = (h - side) // 2, (w - side) // 2
    return a[y0:y0 + side, x0:x0 + side]


# -- training -------------------------------------------------------------------------------
def train(args, work: Path) -> None:
    t0 = time.perf_counter()
    pool = load_pool(args.data)
    held_out = [im for i, im in enumerate(pool) if i % 12 == 5]
    left_out = _names(args.leave_out)
    train_pool = [im for i, im in enumerate(pool) if i % 12 != 5 and im.name not in left_out]
    modalities = {m: sum(im.modality == m for im in pool) for m in ("fluorescence", "tissue", "brightfield")}
    log(f"pool: {len(pool)} images {modalities}, {len(held_out)} held out for validation, "
        f"{len(pool) - len(held_out) - len(train_pool)} more left out; loaded in {time.perf_counter() - t0:.0f} s")
    synthetic = make_synthetic(args.synthetic, 256, args.seed + 1, args.em)
    val_syn = make_synthetic(16, 256, 10_000 + args.seed, 8 if args.em else 0)
    val_items = [(im.modality, _centre_crop(im.image, 256), _centre_crop(im.target, 256)) for im in held_out]
    val_items += [(f"synthetic {k}", im, tg) for k, v in val_syn.items() for im, tg in v]
    log(f"synthetic: {sum(len(v) for v in synthetic.values())} images generated; "
        f"{time.perf_counter() - t0:.0f} s so far")

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    first = load_model(args.init) if args.init else None
    if first is not None:
        net = first.net.float().train()
        log(f"starting from {args.init}")
    else:
        net = UNet(1, len(CLASSES), args.depth, args.width, args.norm, "same")
    cpu = torch.device("cpu")
    layout = training_memory_format(cpu)   # bf16 autocast on a CPU with AMX trains in NCHW
    net = net.to(memory_format=layout)
    ema = copy.deepcopy(net)
    opt = adamw(net.parameters(), lr=args.lr, weight_decay=1e-4)
    step, trained_s = 0, 0.0
    if args.resume and (work / "state.pt").exists():
        state = torch.load(work / "state.pt", weights_only=True)
        net.load_state_dict(state["net"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, trained_s = int(state["step"]), float(state["seconds"])
        rng = np.random.default_rng(args.seed + step)
        log(f"resumed at step {step} after {trained_s:.0f} s of training")
    sampler = Sampler(train_pool, synthetic, args.patch, rng, parse_sources(args.sources))
    weights = torch.tensor(CLASS_WEIGHTS)
    budget = args.minutes * 60
    start = time.perf_counter() - trained_s
    last_ckpt = last_log = time.perf_counter()
    losses: list[float] = []
    summary = {"data": "DSB2018 stage 1 training pool (CC0), %d images + %d synthetic" % (
        len(train_pool), sum(len(v) for v in synthetic.values())), "classes": [c["name"] for c in CLASSES],
        "sources": args.sources}
    if left_out:
        summary["left_out"] = "%d pool images (%s)" % (len(left_out), Path(args.leave_out).name)
    if first is not None:
        summary["init"] = "%s (%s steps, %s)" % (Path(args.init).name, first.summary.get("steps", "?"),
                                                 first.summary.get("sources", SOURCES))
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            break
        progress = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / 50) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = sampler.batch(args.batch)
        x, y, _ = elastic_deform(x, y, None, gen)
        x = jitter_intensity(x, gen)
        x = x + torch.randn(x.shape, generator=gen) * float(torch.rand((), generator=gen)) * 0.05
        with autocast(cpu):
            logits = net(x.contiguous(memory_format=layout))
        loss = F.cross_entropy(logits.float(), y.long() - 1, weight=weights, ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(loss.item())
        # EMA: the average of recent weights generalises better than the last step's.
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.mul_(decay).add_(pn.detach(), alpha=1 - decay)
            for be, bn in zip(ema.buffers(), net.buffers()):
                be.copy_(bn)
        now = time.perf_counter()
        if now - last_log >= 60:
            log(f"step {step} {elapsed / 60:.1f} min loss {np.mean(losses):.4f} lr {lr:.2e} "
                f"{len(losses) * args.batch / (now - last_log):.1f} patches/s")
            losses, last_log = [], now
        if now - last_ckpt >= args.checkpoint_every * 60:
            checkpoint(work, net, ema, opt, step, time.perf_counter() - start, summary, args, val_items)
            last_ckpt = time.perf_counter()
    checkpoint(work, net, ema, opt, step, time.perf_counter() - start, summary, args, val_items)
    state = torch.load(work / "state.pt", weights_only=True)
    export(_ema_model(args, state), args.out, state["summary"])
    log(f"wrote {args.out}")


def checkpoint(work: Path, net, ema, opt, step: int, seconds: float, summary: dict, args, val_items) -> None:
    scores = validate(ema, val_items)
    summary = dict(summary, steps=step, seconds=round(seconds), batch=args.batch, patch=args.patch,
                   seed=args.seed, validation=scores)
    state = {"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
             "seconds": seconds, "summary": summary, "arch": dict(net.arch)}
    with atomic_path(work / "state.pt") as tmp:
        torch.save(state, tmp)
    save_model(work / "starting_model.pt", _ema_model(args, state))
    log(f"checkpoint at step {step}: " + "; ".join(f"{k}: {v}" for k, v in scores.items()))


def _ema_model(args, state: dict) -> Model:
    a = state["arch"]
    net = UNet(a["in_channels"], a["n_classes"], a["depth"], a["width"], a["norm"], a["padding"])
    net.load_state_dict(state["ema"])
    return Model(net.eval(), CLASSES, {"method": "percentile", "low_pct": LOW_PCT, "high_pct": HIGH_PCT},
                 dict(state["summary"]))


def export(model: Model, out: str | Path, summary: dict) -> None:
    """Write `model` in the engine's model-file format with half-precision weights (half the
    size; fine-tuning loads them into float32 parameters)."""
    model.summary = dict(summary, name="unet_studio starting model", precision="float16 weights")
    tmp_model = Path(out).with_suffix(".fp32.tmp")
    save_model(tmp_model, model)
    payload = torch.load(tmp_model, weights_only=True)
    tmp_model.unlink()
    payload["state_dict"] = {k: (v.half() if v.is_floating_point() else v) for k, v in payload["state_dict"].items()}
    with atomic_path(out) as tmp:
        torch.save(payload, tmp)


if __name__ == "__main__":
    raise SystemExit(main())
