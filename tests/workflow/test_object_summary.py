"""The counts per image of a batch: one row per image, read back from each image's table."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from unet_studio.workflow.object_summary import SUMMARY_NAME, summarise, write_summary
from unet_studio.workflow.object_table import object_table, write_objects_csv


def table_of(path, areas, pixel_size=None):
    """A table of len(areas) square objects of those areas, written to `path`."""
    labels = np.zeros((64, 256), np.int32)
    x = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    for i, area in enumerate(areas, start=1):
        side = int(round(area ** 0.5))
        labels[2:2 + side, x:x + side] = i
        x += side + 2
    return write_objects_csv(path, object_table(labels, "YX", pixel_size=pixel_size))


def test_one_row_per_image_with_its_count_and_sizes(tmp_path):
    tables = [("a.tif", table_of(tmp_path / "a_objects.csv", [16, 36, 100])),
              ("b.tif", table_of(tmp_path / "b_objects.csv", [])),
              ("c.tif", table_of(tmp_path / "sub" / "c_objects.csv", [49], pixel_size=0.5))]
    rows = summarise(tables, tmp_path)
    assert list(rows["image"]) == ["a.tif", "b.tif", "c.tif"]
    assert list(rows["objects"]) == [3, 0, 1]
    assert rows["mean_area_px"][0] == pytest.approx(152 / 3) and rows["median_area_px"][0] == 36
    assert rows["mean_area_px"][1] == ""                       # no objects: empty, not 0
    assert list(rows["table"]) == ["a_objects.csv", "b_objects.csv", "sub/c_objects.csv"]
    assert rows["mean_area_um2"][2] == pytest.approx(49 * 0.25) and rows["mean_area_um2"][0] == ""
    # one order of columns, whether or not the first image is calibrated
    assert list(rows) == ["image", "objects", "mean_area_px", "median_area_px", "mean_area_um2",
                          "median_area_um2", "mean_equivalent_diameter_px", "median_equivalent_diameter_px", "table"]


def test_a_batch_writes_the_counts_of_the_images_whose_tables_are_there(tmp_path):
    from pathlib import Path

    from unet_studio.workflow.batch import ImageOutputs
    from unet_studio.workflow.export import MASK, OBJECTS

    table_of(tmp_path / "a_objects.csv", [16, 25])
    plan = [ImageOutputs(Path("/data/a.tif"), {MASK: tmp_path / "a_mask.tif", OBJECTS: tmp_path / "a_objects.csv"}),
            ImageOutputs(Path("/data/b.tif"), {MASK: tmp_path / "b_mask.tif", OBJECTS: tmp_path / "b_objects.csv"})]
    written = write_summary(plan, tmp_path)   # b failed: no table, no row
    assert written == tmp_path / SUMMARY_NAME
    with open(written, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["image"], r["objects"]) for r in rows] == [("a.tif", "2")]
    assert write_summary([plan[1]], tmp_path / "none") is None
