"""The object table (workflow/object_table.py): one row per object, its numbers, its files."""
import csv

import numpy as np
import pytest

from unet_studio.ml.objects import find_objects
from unet_studio.workflow.object_table import object_table, write_imagej_rois, write_objects_csv


def disc_instances(shape=(60, 80)):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    labels = np.zeros(shape, np.int32)
    for i, (cy, cx, r) in enumerate([(15, 15, 8), (40, 30, 12), (20, 60, 6)], start=1):
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2] = i
    return labels


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_csv_has_one_row_per_object_and_its_areas_add_up(tmp_path):
    instances = disc_instances()
    image = np.where(instances > 0, 100 + 10 * instances, 5).astype(np.uint16)
    probabilities = np.stack([instances == 0, instances > 0]).astype(np.float32) * 0.8 + 0.1
    table = object_table(instances, "YX", image=image, probabilities=probabilities, object_class=2,
                         class_name="nucleus")
    rows = read_csv(write_objects_csv(tmp_path / "cells_objects.csv", table))
    assert len(rows) == 3
    assert sum(int(r["area_px"]) for r in rows) == int((instances > 0).sum())
    by_id = {int(r["id"]): r for r in rows}
    for i in (1, 2, 3):
        assert int(by_id[i]["area_px"]) == int((instances == i).sum())
        assert float(by_id[i]["mean_intensity_c1"]) == pytest.approx(100 + 10 * i)
        assert float(by_id[i]["min_intensity_c1"]) == float(by_id[i]["max_intensity_c1"]) == 100 + 10 * i
        assert float(by_id[i]["confidence"]) == pytest.approx(0.9, rel=1e-4)
        assert by_id[i]["class"] == "nucleus"
    assert float(by_id[2]["centroid_y"]) == pytest.approx(40) and float(by_id[2]["centroid_x"]) == pytest.approx(30)
    assert (int(by_id[2]["bbox_y0"]), int(by_id[2]["bbox_y1"])) == (28, 53)
    assert float(by_id[2]["equivalent_diameter_px"]) == pytest.approx(24, rel=0.05)
    assert "area_um2" not in rows[0]     # not calibrated: no µm columns


def test_square_micrometres_come_from_the_pixel_size():
    instances = disc_instances()
    table = object_table(instances, "YX", pixel_size=(0.5, 0.25))
    assert np.allclose(table["area_um2"], table["area_px"] * 0.125)
    assert list(table).index("area_um2") == list(table).index("area_px") + 1


def test_a_stack_has_a_row_per_object_and_plane_with_its_channels():
    instances = np.stack([disc_instances(), disc_instances()[:, ::-1], np.zeros((60, 80), np.int32)])
    image = np.stack([np.stack([instances[z] * 2, instances[z] * 3]) for z in range(3)])  # ZCYX
    table = object_table(instances, "ZYX", image=image)
    assert len(table["id"]) == 6
    assert list(table["z"]) == [0, 0, 0, 1, 1, 1] and set(table["t"]) == {-1}
    assert np.allclose(table["mean_intensity_c2"], 1.5 * table["mean_intensity_c1"])


def test_a_plane_without_objects_has_the_columns_of_one_with_them(tmp_path):
    """Tables of one batch can be joined (pandas.concat, R's rbind) whatever they hold."""
    image = np.stack([disc_instances() * 2, disc_instances() * 3])
    probabilities = np.stack([np.full((60, 80), 0.2), np.full((60, 80), 0.8)])
    full = object_table(disc_instances(), "YX", image=image, probabilities=probabilities, object_class=2,
                        class_name="nucleus", pixel_size=0.5)
    empty = object_table(np.zeros((60, 80), np.int32), "YX", image=image, probabilities=probabilities,
                         object_class=2, class_name="nucleus", pixel_size=0.5)
    assert list(empty) == list(full) and len(empty["id"]) == 0
    assert {"mean_intensity_c2", "confidence", "area_um2"} <= set(empty)
    header = read_csv(write_objects_csv(tmp_path / "none.csv", empty))
    assert header == [] and (tmp_path / "none.csv").read_text().splitlines()[0].split(",") == list(full)


def test_3d_objects_have_one_row_and_a_volume():
    zz, yy, xx = np.mgrid[:14, :50, :50]
    volume = (((zz - 6) * 2.0) ** 2 + (yy - 25) ** 2 + (xx - 25) ** 2 <= 10 ** 2)
    instances = find_objects(volume, z_spacing=2.0)
    table = object_table(instances, "ZYX", pixel_size=(1.0, 0.5, 0.5), in_3d=True)
    assert len(table["id"]) == 1
    assert table["volume_voxels"][0] == volume.sum() and "area_px" not in table
    assert table["volume_um3"][0] == pytest.approx(volume.sum() * 0.25)
    # a ball 20 px across, its slices twice as far apart as its pixels: 20 px, not the 16 of cubes
    assert table["equivalent_diameter_px"][0] == pytest.approx(20.0, rel=0.03)
    assert (table["bbox_z0"][0], table["bbox_z1"][0]) == (1, 12) and table["z"][0] == -1


def test_the_roi_set_reads_back_with_the_same_count(tmp_path):
    import roifile
    instances = disc_instances()
    path = write_imagej_rois(tmp_path / "cells_rois.zip", instances)
    rois = roifile.roiread(path)
    assert len(rois) == 3
    for roi in rois:
        x, y = roi.coordinates().T
        label = int(roi.name)
        cy, cx = np.argwhere(instances == label).mean(0)
        assert abs(x.mean() - cx) < 1 and abs(y.mean() - cy) < 1


def test_rois_of_a_stack_carry_their_slice_and_frame(tmp_path):
    import roifile
    plane = disc_instances()
    instances = np.stack([np.stack([plane, np.zeros_like(plane)]), np.stack([plane, plane])])  # TZYX
    rois = roifile.roiread(write_imagej_rois(tmp_path / "rois.zip", instances, "TZYX"))
    assert len(rois) == 9
    assert sorted({(r.t_position, r.z_position) for r in rois}) == [(1, 1), (2, 1), (2, 2)]
