"""The objects of a prediction written beside the instances: a CSV with one row per object and an
ImageJ ROI set, plane by plane like the other outputs, the same objects in all three files."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile

from unet_studio.core.stack import Stack
from unet_studio.ml.predict import Prediction
from unet_studio.workflow.export import (INSTANCES, OBJECTS, ROIS, ExportMeta, PredictedPlane,
                                         output_name, write_planes)

CLASSES = ["background", "nucleus"]
DISCS = {0: [(12, 12, 6), (30, 34, 8)], 1: [(20, 20, 7)], 2: []}   # z -> discs (y, x, radius)


def plane_of(z: int) -> tuple[np.ndarray, Prediction]:
    """An image of bright discs and a confident prediction of exactly those discs."""
    yy, xx = np.mgrid[:48, :48]
    inside = np.zeros((48, 48), bool)
    for y, x, r in DISCS[z]:
        inside |= (yy - y) ** 2 + (xx - x) ** 2 <= r * r
    image = np.where(inside, 900.0, 100.0).astype(np.float32)
    p = np.where(inside, 0.95, 0.05).astype(np.float32)
    return image, Prediction(np.stack([1 - p, p]))


def write_objects(folder, stack, kinds=(INSTANCES, OBJECTS, ROIS)):
    meta = ExportMeta.of(stack, CLASSES, object_class=2)
    targets = {what: folder / output_name("cells", what) for what in kinds}
    planes = []
    for z in range(stack.n_z):
        image, prediction = plane_of(z)
        planes.append(PredictedPlane(prediction, image, 0, z))
    steps = list(write_planes(iter(planes), targets, meta))
    return steps[-1].written


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_row_and_a_roi_per_object_and_the_areas_of_the_instances(tmp_path):
    stack = Stack.from_array(np.zeros((3, 48, 48), np.uint16), "ZYX", pixel_size=(0.25, 0.4), unit="um",
                             name="cells.tif")
    written = write_objects(tmp_path, stack)
    assert [p.name for p in written] == ["cells_instances.tif", "cells_objects.csv", "cells_rois.zip"]
    instances = tifffile.imread(tmp_path / "cells_instances.tif")
    rows = read_rows(tmp_path / "cells_objects.csv")
    assert len(rows) == 3 == sum(len(d) for d in DISCS.values())
    for row in rows:
        z, label = int(row["z"]), int(row["id"])
        area = int((instances[z] == label).sum())
        assert int(float(row["area_px"])) == area
        assert float(row["area_um2"]) == pytest.approx(area * 0.25 * 0.4)
        assert float(row["mean_intensity_c1"]) == pytest.approx(900.0)
        assert float(row["confidence"]) == pytest.approx(0.95, abs=1e-5)
        assert row["class"] == "nucleus"
    assert sorted(int(r["z"]) for r in rows) == [0, 0, 1]
    import roifile
    rois = roifile.roiread(tmp_path / "cells_rois.zip")
    assert len(rois) == 3 and sorted(r.z_position for r in rois) == [1, 1, 2]   # 1-based in ImageJ


def test_an_uncalibrated_image_gives_no_micrometres_and_a_plane_without_objects_an_empty_set(tmp_path):
    stack = Stack.from_array(np.zeros((1, 48, 48), np.uint16), "ZYX", name="cells.tif")
    write_objects(tmp_path, stack)
    rows = read_rows(tmp_path / "cells_objects.csv")
    assert len(rows) == 2 and "area_um2" not in rows[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    stack = Stack.from_array(np.zeros((3, 48, 48), np.uint16), "ZYX", name="cells.tif")
    meta = ExportMeta.of(stack, CLASSES, object_class=2)
    targets = {what: empty / output_name("cells", what) for what in (OBJECTS, ROIS)}
    nothing = [PredictedPlane(plane_of(2)[1], plane_of(2)[0], 0, z) for z in range(3)]
    list(write_planes(iter(nothing), targets, meta))
    assert read_rows(empty / "cells_objects.csv") == []
    import roifile
    assert (empty / "cells_rois.zip").is_file()
    assert roifile.roiread(empty / "cells_rois.zip") == []
