"""Where a model's nucleus pixels are wrong on the DSB task: at the borders or in whole objects,
on which images, and how much of it is where the annotators drew the border.

    .venv/bin/python benchmarks/quality_borders.py                 # the untouched starting model
    .venv/bin/python benchmarks/quality_borders.py --model m.pt    # a fine-tuned model file

Prints, for the 37 evaluated images (four views as in an export, probability of "nucleus" > threshold):
- pooled nucleus F1 at thresholds 0.3-0.8;
- the share of wrong pixels within 2 px of a true nucleus border;
- F1 after growing or shrinking every mask by r px, the best r for all images, and the F1 if
  each image got the r best for it (an oracle that knows each image's border convention);
- the truth itself shrunk / grown by 1 px, scored against the truth;
- F1 with a border tolerance: pixels within 1 or 2 px of a true border not scored, for the
  model and (with --forest) for the random forest on the same scribbles;
- per image: F1, predicted / true area and the share of all wrong pixels, worst first.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_tasks import DEFAULT_DATA, load_dsb  # noqa: E402

RADII = range(-3, 5)


def counts(mask: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    return int((mask & truth).sum()), int((mask & ~truth).sum()), int((~mask & truth).sum())


def pooled_f1(pairs) -> float:
    tp, fp, fn = (sum(c) for c in zip(*(counts(m, t) for m, t in pairs)))
    return 2 * tp / max(2 * tp + fp + fn, 1)


def grown(mask: np.ndarray, r: int) -> np.ndarray:
    """The mask grown by r px (shrunk for r < 0), 4-connected steps."""
    if r == 0:
        return mask
    cross = ndimage.generate_binary_structure(2, 1)
    if r > 0:
        return ndimage.binary_dilation(mask, cross, r)
    return ndimage.binary_erosion(mask, cross, -r)


def distance_to_border(truth: np.ndarray) -> np.ndarray:
    """Each pixel's distance to the nearest pixel of the other side of the true border (>= 1)."""
    return np.where(truth, ndimage.distance_transform_edt(truth), ndimage.distance_transform_edt(~truth))


def tolerant_f1(masks, truths, tolerance: float) -> float:
    """Pooled F1 over the pixels farther than `tolerance` px from a true border (on either side)."""
    kept = []
    for m, t in zip(masks, truths):
        far = distance_to_border(t) > tolerance
        kept.append((m[far], t[far]))
    return pooled_f1(kept)


def nucleus_probability(model, plane: np.ndarray) -> np.ndarray:
    from unet_studio.ml.predict import predict_plane
    p = predict_plane(model, plane).probabilities   # four views, as exported
    return p[1:].sum(0) if p.shape[0] == 3 else p[1]   # starting model: interior + boundary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--model", help="a model file (default: the untouched starting model)")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--forest", action="store_true", help="also score the random forest (seed 0) with the tolerance")
    args = ap.parse_args(argv)

    from unet_studio.ml.model_file import load_model
    from unet_studio.ml.starting_model import load_starting_model
    task = load_dsb(Path(args.data))
    model = load_model(args.model) if args.model else load_starting_model(3, 1)
    probs = [nucleus_probability(model, plane) for plane in task.eval_images]
    truths = [inst > 0 for inst in task.eval_instances]
    masks = [p > args.threshold for p in probs]

    print("nucleus F1 by threshold:", ", ".join(
        f"{th}: {pooled_f1([(p > th, t) for p, t in zip(probs, truths)]):.3f}" for th in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)))
    near = far = 0
    for m, t in zip(masks, truths):
        to_border = distance_to_border(t)
        wrong = m ^ t
        near += int((wrong & (to_border <= 2)).sum())
        far += int((wrong & (to_border > 2)).sum())
    print(f"wrong pixels within 2 px of a true border: {near / max(near + far, 1):.2f}")
    by_radius = {r: pooled_f1([(grown(m, r), t) for m, t in zip(masks, truths)]) for r in RADII}
    print("F1 with every mask grown by r px:", ", ".join(f"{r:+d}: {f:.3f}" for r, f in by_radius.items()))
    best = [max(RADII, key=lambda r: pooled_f1([(grown(m, r), t)])) for m, t in zip(masks, truths)]
    print(f"F1 with each image's best r (oracle): {pooled_f1([(grown(m, r), t) for m, t, r in zip(masks, truths, best)]):.3f}"
          f"; images needing r != 0: {sum(r != 0 for r in best)} of {len(best)}")
    print(f"the truth shrunk 1 px: F1 {pooled_f1([(grown(t, -1), t) for t in truths]):.3f}; "
          f"grown 1 px: {pooled_f1([(grown(t, 1), t) for t in truths]):.3f}")

    scored = [("model", masks)]
    if args.forest:
        from quality_tasks import forest_masks
        scored.append(("forest", [f == task.object_class for f in forest_masks(task, seed=0)]))
    for name, ms in scored:
        print(f"{name} F1 with a border tolerance of 0 / 1 / 2 px: "
              + " / ".join(f"{tolerant_f1(ms, truths, tol):.3f}" for tol in (0, 1, 2)))

    rows = []
    for i, (m, t) in enumerate(zip(masks, truths)):
        tp, fp, fn = counts(m, t)
        rows.append((fp + fn, i, 2 * tp / max(2 * tp + fp + fn, 1), m.sum() / max(t.sum(), 1), t.mean()))
    total = sum(r[0] for r in rows)
    print("image  F1     pred/true area  share of wrong pixels  nucleus fraction")
    for wrong, i, f1, area, fraction in sorted(rows, reverse=True):
        print(f"{i:5d}  {f1:.3f}  {area:14.2f}  {wrong / max(total, 1):21.2f}  {fraction:16.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
