"""The objects of a whole stack as the app's File > Export writes them (workflow/export.py's
OBJECTS and ROIS with one object size for the stack), and one plane's objects (the panel)."""
from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest
import roifile

from unet_studio.core.stack import Stack
from unet_studio.ml import predict
from unet_studio.workflow.export import OBJECTS, ROIS, PredictionOptions, predict_to_files
from unet_studio.workflow.object_export import plane_objects

SPECS = [[(20, 20, 8), (40, 44, 8)], [(30, 30, 10)], [(20, 20, 8), (44, 20, 6), (44, 48, 6)]]


def discs(spec, shape=(64, 64)) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, bool)
    for y, x, r in spec:
        mask |= (yy - y) ** 2 + (xx - x) ** 2 <= r ** 2
    return mask


@pytest.fixture
def fake_network(monkeypatch):
    """predict_planes answers the discs of SPECS[z] as class 2 (the network is not under test)."""
    def planes(model, stack, **_):
        for i, (t, z) in enumerate((t, z) for t in range(stack.n_t) for z in range(stack.n_z)):
            p = np.where(discs(SPECS[z]), 0.9, 0.1).astype(np.float32)
            yield predict.PlaneProgress((i + 1) / (stack.n_t * stack.n_z), (t, z),
                                        predict.Prediction(np.stack([1 - p, p])), image=stack.plane(t, z))
    monkeypatch.setattr(predict, "predict_planes", planes)
    return SimpleNamespace(n_classes=2, classes=["background", "nucleus"])


def stack_of(**meta) -> Stack:
    data = np.stack([discs(s) * 100 + 20 for s in SPECS]).astype(np.uint8)
    return Stack.from_array(data, "ZYX", name="cells.tif", **meta)


def export_objects(model, stack, object_class, csv_path=None, rois_path=None, object_size=None):
    targets = {what: path for what, path in ((OBJECTS, csv_path), (ROIS, rois_path)) if path}
    return predict_to_files(model, stack, targets,
                            PredictionOptions(object_class=object_class, object_size=object_size))


def run(model, stack, **targets):
    steps = list(export_objects(model, stack, 2, **targets))
    assert [s.fraction for s in steps] == sorted(s.fraction for s in steps)
    return steps[-1].written


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_csv_one_row_per_object_with_its_plane_and_area(fake_network, tmp_path):
    written = run(fake_network, stack_of(), csv_path=tmp_path / "o.csv")
    rows = read_csv(written[0])
    assert [sum(r["z"] == str(z) for r in rows) for z in range(3)] == [len(s) for s in SPECS]
    for z, spec in enumerate(SPECS):
        areas = sorted(int(r["area_px"]) for r in rows if r["z"] == str(z))
        assert areas == sorted(int(discs([d]).sum()) for d in spec)
    assert {r["class"] for r in rows} == {"nucleus"}
    assert "area_um2" not in rows[0]   # no calibration in the image: none invented
    assert float(rows[0]["mean_intensity_c1"]) == pytest.approx(120)
    assert float(rows[0]["confidence"]) == pytest.approx(0.9, abs=1e-3)


def test_calibrated_stack_gives_square_microns(fake_network, tmp_path):
    written = run(fake_network, stack_of(pixel_size=(0.5, 0.25), unit="um"), csv_path=tmp_path / "o.csv")
    for row in read_csv(written[0]):
        assert float(row["area_um2"]) == pytest.approx(int(row["area_px"]) * 0.125, rel=1e-5)


def test_roi_zip_reads_back_with_one_roi_per_object(fake_network, tmp_path):
    written = run(fake_network, stack_of(), rois_path=tmp_path / "rois.zip")
    rois = roifile.roiread(written[0])
    assert len(rois) == sum(len(s) for s in SPECS)
    assert sorted(r.z_position for r in rois) == sorted(z + 1 for z, s in enumerate(SPECS) for _ in s)


def test_cancelled_export_writes_nothing(fake_network, tmp_path):
    steps = export_objects(fake_network, stack_of(), 2, csv_path=tmp_path / "o.csv")
    next(steps)
    steps.close()
    assert list(tmp_path.iterdir()) == []


def test_one_given_object_size_for_the_stack(fake_network, tmp_path):
    # Next to a 60 px object size the smaller discs are specks: dropped.
    written = run(fake_network, stack_of(), csv_path=tmp_path / "o.csv", object_size=60.0)
    assert len(read_csv(written[0])) < sum(len(s) for s in SPECS)


def test_plane_objects_of_one_plane():
    mask = np.where(discs(SPECS[2]), 2, 1).astype(np.uint8)
    found = plane_objects(mask, None, None, 2, class_name="nucleus")
    assert found.labels.max() == 3 and len(found.table["id"]) == 3
    assert found.object_size == pytest.approx(12, abs=4)
    assert list(found.table["class"]) == ["nucleus"] * 3


def test_plane_objects_grow_into_the_border_class():
    mask = np.ones((40, 64), np.uint8)
    mask[10:30, 10:30] = mask[10:30, 32:52] = 2
    mask[10:30, 30:32] = 3
    alone = plane_objects(mask, None, None, 2, object_size=20)
    grown = plane_objects(mask, None, None, 2, object_size=20, border_class=3)
    assert sorted(alone.table["area_px"]) == [400, 400]
    assert sorted(grown.table["area_px"]) == [420, 420]


def test_the_confidence_of_a_grown_object_is_read_on_its_own_pixels():
    """Cells grown into the membranes between them: their confidence is how sure the network is
    of the cells, not lowered by the membrane pixels they took their share of."""
    mask = np.ones((40, 64), np.uint8)
    mask[10:30, 10:30] = mask[10:30, 32:52] = 2
    mask[10:30, 30:32] = 3
    probabilities = np.stack([mask == k for k in (1, 2, 3)]).astype(np.float32) * 0.7 + 0.1
    probabilities[1][mask == 2] = 0.95
    grown = plane_objects(mask, probabilities, None, 2, object_size=20, border_class=3)
    assert sorted(grown.table["area_px"]) == [420, 420]
    np.testing.assert_allclose(grown.table["confidence"], [0.95, 0.95], atol=1e-6)
    # An export passes the class's probability alone: the same confidence.
    from unet_studio.workflow.object_table import object_table
    alone = object_table(grown.labels, "YX", probabilities=probabilities[1:2], object_class=1)
    np.testing.assert_allclose(alone["confidence"], [0.95, 0.95], atol=1e-6)
