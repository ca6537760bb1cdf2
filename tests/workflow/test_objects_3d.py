"""Objects that span the slices of a Z stack: one id across slices in the instances file, one
row per object with its volume in the table, an ROI per slice it crosses; the memory a volume
needs is checked before any work."""
from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

from unet_studio.core.stack import Stack
from unet_studio.ml import predict
from unet_studio.ml.predict import PlaneProgress, Prediction
from unet_studio.workflow import memory, objects_3d
from unet_studio.workflow.export import INSTANCES, MASK, OBJECTS, ROIS, PredictionOptions, output_name, predict_to_files
from unet_studio.workflow.objects_3d import VolumeTooLarge, check_fits

CLASSES = ["background", "nucleus"]
SHAPE = (2, 7, 40, 40)          # T, Z, Y, X
PIXEL, SPACING = 0.5, 2.0        # µm: slices 4 px apart
# (t, z, y, x, radius in µm): balls that span several slices
BALLS = [(0, 3, 12, 12, 4.0), (0, 3, 28, 27, 3.5), (1, 2, 20, 20, 4.5)]


def balls() -> list[np.ndarray]:
    """One (Z, Y, X) bool volume per ball, in µm-true proportions."""
    zz, yy, xx = np.mgrid[:SHAPE[1], :SHAPE[2], :SHAPE[3]]
    return [((zz - z) * SPACING) ** 2 + ((yy - y) * PIXEL) ** 2 + ((xx - x) * PIXEL) ** 2 <= r * r
            for _, z, y, x, r in BALLS]


def inside() -> np.ndarray:
    volume = np.zeros(SHAPE, bool)
    for (t, *_), ball in zip(BALLS, balls()):
        volume[t] |= ball
    return volume


@pytest.fixture
def predicted(monkeypatch):
    """predict_planes gives a confident prediction of exactly the balls (no network needed)."""
    truth = inside()

    def planes(model, stack, **options):
        n = SHAPE[0] * SHAPE[1]
        for i, (t, z) in enumerate((t, z) for t in range(SHAPE[0]) for z in range(SHAPE[1])):
            p = np.where(truth[t, z], 0.95, 0.05).astype(np.float32)
            yield PlaneProgress((i + 1) / n, (t, z), Prediction(np.stack([1 - p, p])), image=stack.plane(t, z))

    monkeypatch.setattr(predict, "predict_planes", planes)
    stack = Stack.from_array(np.where(truth, 800, 100).astype(np.uint16), "TZYX", pixel_size=(PIXEL, PIXEL),
                             z_spacing=SPACING, unit="um", name="embryo.tif")
    return SimpleNamespace(classes=CLASSES, n_classes=2, n_outputs=2), stack


def export(model, stack, folder, objects_3d, kinds=(MASK, INSTANCES, OBJECTS, ROIS)):
    targets = {what: folder / output_name("embryo", what) for what in kinds}
    steps = list(predict_to_files(model, stack, targets, PredictionOptions(object_class=2, objects_3d=objects_3d)))
    return steps[-1].written


def rows_of(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_an_object_keeps_one_id_across_slices_and_has_one_row_with_its_volume(predicted, tmp_path):
    model, stack = predicted
    export(model, stack, tmp_path, objects_3d=True)
    instances = tifffile.imread(tmp_path / "embryo_instances.tif")
    assert instances.shape == SHAPE
    for (t, *_), ball in zip(BALLS, balls()):
        ids = np.unique(instances[t][ball])
        assert len(ids) == 1 and ids[0] > 0                                  # one id in every slice
        assert (instances[t] == ids[0]).sum() == ball.sum()                  # and nothing beside it
        assert np.count_nonzero(ball.any(axis=(1, 2))) >= 3                  # it does span slices
    rows = rows_of(tmp_path / "embryo_objects.csv")
    assert len(rows) == len(BALLS)
    assert sorted(int(r["t"]) for r in rows) == [0, 0, 1] and {r["z"] for r in rows} == {"-1"}
    for row in rows:
        t, label = int(row["t"]), int(row["id"])
        voxels = int((instances[t] == label).sum())
        assert int(float(row["volume_voxels"])) == voxels
        assert float(row["volume_um3"]) == pytest.approx(voxels * SPACING * PIXEL * PIXEL)
        ball = next(b for (bt, *_), b in zip(BALLS, balls()) if bt == t and b[instances[t] == label].all())
        assert float(row["centroid_z"]) == pytest.approx(np.argwhere(ball)[:, 0].mean())
        assert float(row["mean_intensity_c1"]) == pytest.approx(800.0)
        assert float(row["confidence"]) == pytest.approx(0.95, abs=1e-5)
    import roifile

    rois = roifile.roiread(tmp_path / "embryo_rois.zip")
    crossings = sum(np.count_nonzero(b.any(axis=(1, 2))) for b in balls())
    assert len(rois) == crossings                                             # one outline per slice crossed
    assert {r.name.rsplit("-", 1)[-1] for r in rois} == {f"{int(r['id']):05d}" for r in rows}


def test_per_plane_objects_stay_the_default(predicted, tmp_path):
    model, stack = predicted
    export(model, stack, tmp_path, objects_3d=False, kinds=(INSTANCES, OBJECTS))
    rows = rows_of(tmp_path / "embryo_objects.csv")
    assert "volume_um3" not in rows[0] and "area_um2" in rows[0]
    # each ball is a row in every slice it crosses wide enough not to be a speck
    assert len(rows) >= 3 * len(BALLS) and {int(r["z"]) for r in rows} >= {1, 2, 3, 4}


def test_slices_as_far_apart_as_pixels_when_the_image_does_not_say():
    from unet_studio.workflow.export_meta import Calibration

    assert objects_3d.z_step_px(Calibration((0.5, 0.5), 2.0, "um")) == pytest.approx(4.0)
    assert objects_3d.z_step_px(Calibration((0.5, 0.5), None, "um")) == 1.0
    assert objects_3d.z_step_px(Calibration(None, None, "")) == 1.0


def test_a_volume_too_large_for_memory_is_refused_before_any_work(predicted, tmp_path, monkeypatch):
    with pytest.raises(VolumeTooLarge, match="per plane"):
        check_fits((100, 2048, 2048), n_maps=2, free=8 * 2**30)
    check_fits((100, 2048, 2048), n_maps=2, free=64 * 2**30)
    # 48 bytes a voxel with two classes; the kept starting model's boundary holds 4 more
    free = int(100 * 2048 * 2048 * 50 / memory.SHARE_OF_FREE_MEMORY)
    check_fits((100, 2048, 2048), n_maps=2, free=free)
    with pytest.raises(VolumeTooLarge):
        check_fits((100, 2048, 2048), n_maps=3, free=free)
    model, stack = predicted
    monkeypatch.setattr(memory, "free_memory", lambda: 2**20)
    with pytest.raises(VolumeTooLarge):
        export(model, stack, tmp_path, objects_3d=True)
    assert not list(tmp_path.iterdir())
    export(model, stack, tmp_path, objects_3d=False)      # per plane needs one plane at a time


def test_an_image_without_slices_gets_its_plane_objects(monkeypatch, tmp_path):
    disc = np.hypot(*np.mgrid[-20:20, -20:20]) < 8
    p = np.where(disc, 0.95, 0.05).astype(np.float32)
    monkeypatch.setattr(predict, "predict_planes",
                        lambda model, stack, **o: iter([PlaneProgress(1.0, (0, 0), Prediction(np.stack([1 - p, p])))]))
    stack = Stack.from_array(disc.astype(np.uint16), "YX", name="embryo.tif")
    export(SimpleNamespace(classes=CLASSES, n_classes=2, n_outputs=2), stack, tmp_path, objects_3d=True, kinds=(INSTANCES, OBJECTS))
    assert len(rows_of(tmp_path / "embryo_objects.csv")) == 1
