"""The numbers per image of a batch: one row per image with how many objects it holds and how
large they are, read back from each image's object table (workflow/object_table.py), so a
plate of images becomes one small table to compare conditions in a spreadsheet.

    rows = summarise([("well_A1.tif", Path("out/well_A1_objects.csv")), ...])
    write_objects_csv("out/objects_per_image.csv", rows)
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from unet_studio.workflow.object_table import Table, write_objects_csv

SUMMARY_NAME = "objects_per_image.csv"   # beside the images' files in the output folder
_SIZES = ("area_px", "volume_voxels", "area_um2", "volume_um3", "equivalent_diameter_px")   # summarised, in order


def write_summary(plan: list, folder: str | Path) -> Path | None:
    """Write SUMMARY_NAME in `folder` for the images of `plan` (workflow/batch.ImageOutputs:
    those written now, or done by an earlier run) whose object table is there; None where none is."""
    from unet_studio.workflow.export import OBJECTS

    folder = Path(folder)
    tables = [(item.name, Path(item.targets[OBJECTS])) for item in plan
              if OBJECTS in item.targets and Path(item.targets[OBJECTS]).is_file()]
    if not tables:
        return None
    return write_objects_csv(folder / SUMMARY_NAME, summarise(tables, folder))


def summarise(tables: list[tuple[str, Path]], folder: Path | None = None) -> Table:
    """One row per (image name, its objects CSV): image, its table (relative to `folder`, which
    tells apart images of the same name in sub-folders), objects, and the mean and median of
    the area (px, and µm² or µm³ where the image is calibrated) and of the diameter in px;
    empty cells where an image has no objects."""
    rows = [_row(name, read_table(path)) | {"table": _relative(path, folder)} for name, path in tables]
    present = {key for row in rows for key in row}
    order = ["image", "objects"] + [f"{stat}_{c}" for c in _SIZES for stat in ("mean", "median")] + ["table"]
    columns = [key for key in order if key in present]   # one order, whichever image comes first
    return {key: np.array([row.get(key, "") for row in rows], dtype=object) for key in columns}


def _relative(path: Path, folder: Path | None) -> str:
    try:
        return path.relative_to(folder).as_posix() if folder is not None else path.name
    except ValueError:
        return str(path)


def read_table(path: str | Path) -> dict[str, list[str]]:
    """An object table as written (workflow/object_table.py): column name -> its cells."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns: dict[str, list[str]] = {name: [] for name in reader.fieldnames or []}
        for row in reader:
            for name in columns:
                columns[name].append(row[name])
    return columns


def _row(name: str, columns: dict[str, list[str]]) -> dict:
    n = len(columns.get("id", []))
    row = {"image": name, "objects": n}
    for column in _SIZES:
        if column in columns:
            values = np.array(columns[column], float) if n else np.zeros(0)
            row[f"mean_{column}"] = float(values.mean()) if n else ""
            row[f"median_{column}"] = float(np.median(values)) if n else ""
    return row
