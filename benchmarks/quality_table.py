"""Markdown tables from quality.py results: mean ± standard deviation over seeds."""
from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

COLUMNS = {
    "isbi": [("f1", "membrane F1"), ("pixel_error", "pixel error"), ("iou_membrane", "membrane IoU"),
             ("precision", "precision"), ("fp_far", "false > 6 px")],
    "dsb": [("f1", "nucleus F1"), ("iou_nucleus", "nucleus IoU"), ("instance_f1", "instance F1"),
            ("pixel_error", "pixel error")],
    "halo": [("f1", "cell F1"), ("excess", "excess area"), ("instance_f1", "instance F1"),
             ("pixel_error", "pixel error")],
}


def _fmt(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def load(paths: list[str]) -> list[dict]:
    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return rows


def print_tables(paths: list[str]) -> None:
    rows = load(paths)
    for task, columns in COLUMNS.items():
        mine = [r for r in rows if r["task"] == task]
        if not mine:
            continue
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in mine:
            rounds = r.get("rounds", 0)
            corrected = f" + {rounds} correction{'s' if rounds > 1 else ''}" if rounds else ""
            if rounds and r.get("correction_min_width") == 0:
                corrected += " (on every wrong pixel)"
            if r["method"] == "forest":
                groups[("random forest (100 trees)" + corrected, 0)].append(r)
            else:
                name = (r.get("label") or r["init"]) + corrected
                if r.get("labels") == "truth":
                    name += " (trained on the truth)"
                if r.get("views"):
                    name += f", {r['views']} view{'s' if r['views'] > 1 else ''}"
                unit = " steps" if r.get("unit") == "steps" else ""
                groups[(name + unit, r["time"])].append(r)
        print(f"\n### {task}\n")
        print("| method | s (or steps) | seeds | steps | " + " | ".join(c[1] for c in columns) + " |")
        print("|---|---|---|---|" + "---|" * len(columns))
        for (name, t), rs in sorted(groups.items(), key=lambda kv: (not kv[0][0].startswith("random forest"), kv[0])):
            steps = "-" if t == 0 else f"{np.mean([r['steps'] for r in rs]):.0f}"
            cells = [_fmt([r["scores"].get(key) for r in rs]) for key, _ in columns]
            when = f"{t:g}" if t else "-"
            print(f"| {name} | {when} | {len(rs)} | {steps} | " + " | ".join(cells) + " |")
