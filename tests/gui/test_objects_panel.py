"""The Objects panel: the objects of the shown plane counted, measured, listed and found again."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.helpers import show_array
from unet_studio.gui.viewer.objects import WAITING

DISCS = [(30, 30, 12), (90, 40, 8), (60, 100, 10)]   # (y, x, radius), apart


def discs(shape=(128, 128), spec=DISCS) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, bool)
    for y, x, r in spec:
        mask |= (yy - y) ** 2 + (xx - x) ** 2 <= r ** 2
    return mask


def predicted(document, foreground: np.ndarray, t: int = 0, z: int = 0) -> None:
    """Give the document a prediction: class 2 (foreground) where `foreground` is."""
    p = np.where(foreground, 0.9, 0.1).astype(np.float32)
    probabilities = np.stack([1 - p, p])
    mask = np.where(foreground, 2, 1).astype(np.uint8)
    document.put_prediction(t, z, probabilities, mask, np.zeros(foreground.shape, np.float32))


def shown(window, qtbot, data=None, **meta):
    data = (discs() * 150 + 30).astype(np.uint8) if data is None else data
    return show_array(window, data, "YX" if data.ndim == 2 else "ZYX", **meta)


def settled(window, qtbot) -> None:
    qtbot.waitUntil(lambda: window.pool.idle, timeout=20_000)


def test_count_table_histogram_and_status_bar(window, qtbot):
    document = shown(window, qtbot)
    panel = window.objects_panel
    assert panel.chosen_class == 2    # the last class, the one that is not background
    assert panel.size.text() == "–"   # no size before anything was measured
    predicted(document, discs())
    settled(window, qtbot)
    assert panel.count.text() == "3 objects in this plane"
    assert panel.status_label.text() == "3 objects"
    assert panel.status_label.isVisible()   # in the status bar
    assert panel.model.rowCount() == 3
    areas = sorted(float(panel.model.value(r, "area_px")) for r in range(3))
    assert areas == sorted(float(discs(spec=[d]).sum()) for d in DISCS)
    assert panel.size.value() > 10    # measured from the mask (discs 16-24 px across)
    assert panel._bars.isVisible() and sum(panel._bars.opts["height"]) == 3
    predicted(document, discs(spec=DISCS[:2]))   # the histogram follows a new prediction
    settled(window, qtbot)
    assert sum(panel._bars.opts["height"]) == 2 and panel._bars.isVisible()
    headers = [panel.model.headerData(c, Qt.Orientation.Horizontal) for c in range(panel.model.columnCount())]
    assert {"id", "area px", "diameter px", "confidence"} <= set(headers)
    assert "area µm²" not in headers   # the image has no calibration


def test_calibrated_image_shows_square_microns(window, qtbot):
    document = shown(window, qtbot, pixel_size=(0.5, 0.5), unit="um")
    predicted(document, discs())
    settled(window, qtbot)
    panel = window.objects_panel
    assert "area_um2" in panel.model.columns
    row = {c: panel.model.value(0, c) for c in panel.model.columns}
    assert row["area_um2"] == pytest.approx(row["area_px"] * 0.25)
    assert panel.size_um.text().startswith("= ") and panel.size_um.text().endswith(" µm")   # not "um"


def test_object_size_resplits_the_plane_and_measured_resets(window, qtbot):
    document = shown(window, qtbot)
    # Two touching discs 32 px across and two specks 6 px across.
    predicted(document, discs(spec=[(64, 44, 16), (64, 80, 16), (20, 20, 3), (110, 110, 3)]))
    settled(window, qtbot)
    panel = window.objects_panel
    assert panel.model.rowCount() == 2   # the specks are far smaller than the objects
    measured = panel.size.value()
    panel.size.setValue(8.0)   # objects as small as the specks: they count too
    settled(window, qtbot)
    assert panel.model.rowCount() == 4 and panel.status_label.text() == "4 objects"
    assert panel.measured_button.isEnabled()
    qtbot.mouseClick(panel.measured_button, Qt.MouseButton.LeftButton)
    settled(window, qtbot)
    assert panel.model.rowCount() == 2
    assert panel.size.value() == pytest.approx(measured)
    assert not panel.measured_button.isEnabled()


def test_clicking_a_row_centres_the_view_on_that_object(window, qtbot):
    document = shown(window, qtbot)
    predicted(document, discs())
    settled(window, qtbot)
    panel = window.objects_panel
    rows = panel.model.rowCount()
    row = next(r for r in range(rows) if round(float(panel.model.value(r, "centroid_x"))) == 100)
    index = panel.model.index(row, 0)
    panel.view.scrollTo(index)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.view.visualRect(index).center())
    (x0, x1), (y0, y1) = window.canvas.view.viewRange()
    assert (x0 + x1) / 2 == pytest.approx(100.5, abs=2)
    assert (y0 + y1) / 2 == pytest.approx(60.5, abs=2)


def test_sorting_by_area(window, qtbot):
    document = shown(window, qtbot)
    predicted(document, discs())
    settled(window, qtbot)
    panel = window.objects_panel
    column = panel.model.columns.index("area_px")
    panel.view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    areas = [float(panel.model.value(r, "area_px")) for r in range(3)]
    assert areas == sorted(areas, reverse=True) and areas[0] > areas[-1]
    predicted(document, discs(spec=DISCS + [(110, 110, 14)]))   # a new prediction keeps the sort
    settled(window, qtbot)
    areas = [float(panel.model.value(r, "area_px")) for r in range(4)]
    assert areas == sorted(areas, reverse=True) and areas[0] > areas[-1]
    assert panel.view.horizontalHeader().sortIndicatorSection() == column


def test_another_plane_shows_its_own_objects(window, qtbot):
    volume = np.stack([discs(), discs(spec=DISCS[:1])]).astype(np.uint8) * 100
    document = shown(window, qtbot, volume)
    predicted(document, discs(), z=0)
    predicted(document, discs(spec=DISCS[:1]), z=1)
    document.set_plane(0, 0)
    settled(window, qtbot)
    assert window.objects_panel.model.rowCount() == 3
    document.set_plane(0, 1)
    settled(window, qtbot)
    assert window.objects_panel.model.rowCount() == 1
    assert window.objects_panel.status_label.text() == "1 object"


@pytest.fixture(scope="module")
def tiny_model():
    """A barely trained model (the export is checked for what it writes, not quality)."""
    from tests.gui.helpers import TINY_TRAINING, blobs_image
    from unet_studio.ml.train import TrainConfig, train

    image, truth = blobs_image(seed=1)
    strokes = np.zeros(image.shape, np.uint8)
    strokes[2, 2:60] = 1
    strokes[truth & (np.arange(64)[:, None] < 20)] = 2
    for progress in train([image], [strokes], ["background", "nucleus"],
                          TrainConfig(**dict(TINY_TRAINING, steps=3))):
        model = progress.model
    return model.copy()


def test_file_export_objects_table_and_rois_for_the_whole_stack(window, qtbot, tiny_model, tmp_path,
                                                                monkeypatch):
    import csv

    import roifile

    from tests.gui.helpers import blobs_image

    volume = np.stack([blobs_image(seed=s)[0] for s in range(3)])
    document = show_array(window, volume, "ZYX", name="cells.tif", pixel_size=(0.5, 0.5), unit="um")
    document.set_model(tiny_model)
    written = []
    for name, path in (("export_objects", tmp_path / "cells_objects.csv"),
                       ("export_rois", tmp_path / "cells_rois.zip")):
        monkeypatch.setattr(window.exporter, "ask_path", lambda *args, path=path: str(path))
        window.actions_by_name[name].trigger()
        assert window.stack_jobs.busy   # in a worker, with progress and Cancel
        qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=120_000)
        assert path.exists()
        written.append(path)
    assert window.predict_panel.status.text() == "Saved cells_rois.zip"
    with open(written[0], newline="") as f:
        rows = list(csv.DictReader(f))
    rois = roifile.roiread(written[1])
    assert len(rows) == len(rois if isinstance(rois, list) else [rois])
    assert {r["z"] for r in rows} <= {"0", "1", "2"}
    assert all(float(r["area_um2"]) == pytest.approx(int(r["area_px"]) * 0.25, rel=1e-5) for r in rows)


def test_exports_join_the_slices_into_3d_objects_when_asked(window, qtbot, tiny_model, tmp_path, monkeypatch):
    import csv

    from unet_studio.ml import predict

    panel = window.objects_panel
    shown(window, qtbot)
    assert not panel.across_slices_box.isEnabled()          # one plane: nothing to join
    column = np.stack([discs()] * 3)                          # each disc in all three slices

    def planes(model, stack, **options):
        p = np.where(column, 0.9, 0.1).astype(np.float32)
        for z in range(3):
            yield predict.PlaneProgress((z + 1) / 3, (0, z), predict.Prediction(np.stack([1 - p[z], p[z]])),
                                        image=stack.plane(0, z))

    monkeypatch.setattr(predict, "predict_planes", planes)
    document = shown(window, qtbot, (column * 150 + 30).astype(np.uint8), name="cells.tif",
                     pixel_size=(0.5, 0.5), z_spacing=2.0, unit="um")
    document.set_model(tiny_model)
    assert panel.across_slices_box.isEnabled()
    counts = {}
    for joined in (False, True):
        panel.across_slices_box.setChecked(joined)
        path = tmp_path / f"joined_{joined}.csv"
        monkeypatch.setattr(window.exporter, "ask_path", lambda *args, path=path: str(path))
        window.actions_by_name["export_objects"].trigger()
        qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=60_000)
        with open(path, newline="") as f:
            counts[joined] = list(csv.DictReader(f))
    assert len(counts[False]) == 3 * len(DISCS) and {r["z"] for r in counts[False]} == {"0", "1", "2"}
    assert len(counts[True]) == len(DISCS) and {r["z"] for r in counts[True]} == {"-1"}
    for row in counts[True]:   # a volume: 3 slices of its disc, 2 x 0.5 x 0.5 µm voxels
        assert float(row["volume_um3"]) == pytest.approx(int(row["volume_voxels"]) * 0.5)
        assert int(row["volume_voxels"]) % 3 == 0 and "area_px" not in row


def test_the_view_joins_the_slices_into_3d_objects_when_asked(window, qtbot, tiny_model, monkeypatch):
    from unet_studio.ml import predict

    panel, objects = window.objects_panel, window.objects
    column = np.stack([discs(), discs(), discs(spec=DISCS[:1])])   # two discs end at slice 1
    predicted_slices = []

    def planes(model, stack, planes=None, **options):
        p = np.where(column, 0.9, 0.1).astype(np.float32)
        for t, z in planes:
            predicted_slices.append(z)
            yield predict.PlaneProgress((z + 1) / 3, (t, z), predict.Prediction(np.stack([1 - p[z], p[z]])),
                                        image=stack.plane(t, z))

    monkeypatch.setattr(predict, "predict_planes", planes)
    document = shown(window, qtbot, (column * 150 + 30).astype(np.uint8), name="cells.tif",
                     pixel_size=(0.5, 0.5), z_spacing=2.0, unit="um")
    panel.across_slices_box.setChecked(True)
    settled(window, qtbot)
    assert panel.count.text() == "3-D objects need a model: train, or choose one"
    document.set_model(tiny_model)
    objects.request()
    qtbot.waitUntil(lambda: "joined across slices" in panel.count.text(), timeout=30_000)
    settled(window, qtbot)
    assert panel.count.text() == "3 objects in this time point, joined across slices"
    assert sorted(predicted_slices) == [0, 1, 2]               # every slice, once
    first = objects.labels.copy()
    document.set_plane(0, 2)
    settled(window, qtbot)
    assert objects.labels_plane == (0, 2) and sorted(predicted_slices) == [0, 1, 2]   # not again
    kept = np.unique(objects.labels)[1:]
    assert len(kept) == 1 and set(np.unique(first[objects.labels == kept[0]])) == {kept[0]}  # one id across
    rows = {c: panel.model.table[c] for c in panel.model.table}
    assert "volume_um3" in rows and len(rows["id"]) == 3
    headers = [panel.model.headerData(i, Qt.Orientation.Horizontal) for i in range(panel.model.columnCount())]
    assert {"volume voxels", "volume µm³", "z"} <= set(headers) and "area px" not in headers   # volumes, not areas
    one_slice_deep = int(np.argmin(rows["volume_voxels"]))
    panel.object_clicked.emit({c: rows[c][one_slice_deep] for c in rows})
    assert document.z == round(float(rows["centroid_z"][one_slice_deep]))   # its slice is shown
    panel.across_slices_box.setChecked(False)
    settled(window, qtbot)
    assert "in this plane" in panel.count.text()
    headers = [panel.model.headerData(i, Qt.Orientation.Horizontal) for i in range(panel.model.columnCount())]
    assert "area px" in headers and "area µm²" in headers and "volume voxels" not in headers


def test_objects_view_colours_each_object_with_an_outline(window, qtbot):
    document = shown(window, qtbot)
    predicted(document, discs())
    settled(window, qtbot)
    panel, layer = window.objects_panel, window.objects.layer
    assert not layer.isVisible() and window.canvas.mask_layer.isVisible()
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    assert layer.isVisible() and not window.canvas.mask_layer.isVisible()
    picture = layer.image
    assert picture.shape == (128, 128, 4)
    colours = {tuple(picture[y, x, :3]) for y, x, _ in DISCS}
    assert len(colours) == 3                                   # one colour per object
    assert picture[0, 0, 3] == 0                               # nothing outside the objects
    y, x, r = DISCS[0]
    assert picture[y, x - r, 3] == 255 and 0 < picture[y, x, 3] < 255   # outlined, see-through inside
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    assert not layer.isVisible() and window.canvas.mask_layer.isVisible()


def test_objects_not_shown_wait_while_training_runs(window, qtbot):
    document = shown(window, qtbot)
    window.training.running_changed.emit(True)    # as when Train is pressed
    predicted(document, discs())                  # a training preview
    settled(window, qtbot)
    panel = window.objects_panel
    assert panel.count.text() == WAITING
    assert panel.model.rowCount() == 0
    window.training.running_changed.emit(False)
    settled(window, qtbot)
    assert panel.model.rowCount() == 3 and panel.status_label.text() == "3 objects"


def test_objects_shown_follow_the_previews_while_training_runs(window, qtbot, monkeypatch):
    """Shown on the image, the objects are found from the previews while training runs, from
    LIVE_FROM s after it started and a job at most every so often: the time between jobs keeps
    them to LIVE_SHARE of it."""
    import unet_studio.gui.viewer.objects as objects_module

    clock = [100.0]
    monkeypatch.setattr(objects_module, "_now", lambda: clock[0])
    document = shown(window, qtbot)
    panel, controller = window.objects_panel, window.objects
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    window.training.running_changed.emit(True)
    predicted(document, discs(spec=DISCS[:2]))    # the first preview: found once training is going
    settled(window, qtbot)
    assert panel.model.rowCount() == 0 and controller._wait.isActive()
    clock[0] += objects_module.LIVE_FROM
    controller._wait.timeout.emit()
    settled(window, qtbot)
    assert panel.model.rowCount() == 2 and panel.count.text() == "2 objects in this plane"
    assert controller.layer.image is not None and not window.canvas.mask_layer.isVisible()
    predicted(document, discs())    # the job took no time on this clock: the next starts at once
    settled(window, qtbot)
    assert panel.model.rowCount() == 3
    # After a job of 1 s the next waits (1 - LIVE_SHARE) / LIVE_SHARE s, then finds the latest.
    controller._started, clock[0] = clock[0], clock[0] + 1.0
    controller._on_finished()
    predicted(document, discs(spec=DISCS[:1]))
    settled(window, qtbot)
    assert panel.model.rowCount() == 3 and controller._wait.isActive()
    clock[0] += (1 - objects_module.LIVE_SHARE) / objects_module.LIVE_SHARE
    controller._wait.timeout.emit()
    settled(window, qtbot)
    assert panel.model.rowCount() == 1 and panel.count.text() == "1 object in this plane"
    # Hidden again: the class overlay is back and the objects wait for training to stop.
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    predicted(document, discs())
    settled(window, qtbot)
    assert window.canvas.mask_layer.isVisible() and panel.count.text() == WAITING
    assert panel.model.rowCount() == 1


def test_objects_joined_across_slices_wait_while_training_runs(window, qtbot):
    """3-D objects predict every slice with the model: not while it trains."""
    from unet_studio.gui.viewer.objects import WAITING_3D

    shown(window, qtbot, data=np.stack([(discs() * 150 + 30).astype(np.uint8)] * 3))
    panel = window.objects_panel
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    window.training.running_changed.emit(True)
    panel.across_slices_box.setChecked(True)
    settled(window, qtbot)
    assert panel.count.text() == WAITING_3D and window.pool.idle


def test_cells_take_their_share_of_a_border_class(window, qtbot):
    """With a class named "border" (the touching-cells template), the panel's cells grow into it."""
    document = shown(window, qtbot)
    document.labels.add_class("border")
    mask = np.ones((128, 128), np.uint8)
    mask[20:60, 20:60] = mask[20:60, 62:102] = 2
    mask[20:60, 60:62] = 3
    probabilities = np.stack([mask == 1, mask == 2, mask == 3]).astype(np.float32)
    document.put_prediction(0, 0, probabilities, mask, np.zeros(mask.shape, np.float32))
    settled(window, qtbot)
    panel = window.objects_panel
    assert panel.chosen_class == 2 and panel.model.rowCount() == 2
    assert sorted(float(panel.model.value(r, "area_px")) for r in range(2)) == [1640.0, 1640.0]


def test_cells_painted_as_one_class_part_along_the_kept_boundary(window, qtbot):
    """A model that keeps the starting model's boundary (ml/unet.py): a clump of 2 x 2 cells of
    the one class is counted as four where it sees the lines between them."""
    cells = np.zeros((128, 128), bool)
    cells[24:104, 24:104] = True
    document = shown(window, qtbot, data=(cells * 150 + 30).astype(np.uint8))
    p = np.where(cells, 0.9, 0.1).astype(np.float32)
    mask = np.where(cells, 2, 1).astype(np.uint8)
    boundary = np.zeros(cells.shape, np.float32)
    boundary[24:104, 63:65] = boundary[63:65, 24:104] = 0.8
    document.put_prediction(0, 0, np.stack([1 - p, p]), mask, np.zeros(cells.shape, np.float32), boundary=boundary)
    settled(window, qtbot)
    assert window.objects_panel.count.text() == "4 objects in this plane"
    assert sum(int(float(window.objects_panel.model.value(r, "area_px"))) for r in range(4)) == cells.sum()


def test_a_piece_the_network_is_unsure_of_is_shown_grey_and_said_not_counted(window, qtbot):
    """A nucleus in the mask that the network believes far less than the others is not counted:
    the view shows it grey and the panel says so, so the user knows where to paint."""
    document = shown(window, qtbot)
    foreground = discs()
    p = np.where(foreground, 0.95, 0.05).astype(np.float32)
    y, x, r = DISCS[1]
    doubted = discs(spec=[DISCS[1]])
    p[doubted] = 0.6
    document.put_prediction(0, 0, np.stack([1 - p, p]), np.where(foreground, 2, 1).astype(np.uint8),
                            np.zeros(foreground.shape, np.float32))
    settled(window, qtbot)
    panel = window.objects_panel
    assert panel.count.text() == "2 objects in this plane; 1 piece of the mask not counted (hatched)"
    assert panel.status_label.text() == "2 objects (1 not counted)"
    assert "less surely" in panel.count.toolTip()
    picture = window.objects.layer.image
    inside = picture[y - 3:y + 3, x - 3:x + 3].reshape(-1, 4)
    assert all(len(set(p[:3])) == 1 for p in inside)          # grey ...
    assert len({int(p[0]) for p in inside}) == 2               # ... hatched light and dark
    assert all(0 < p[3] < 255 for p in inside)                 # see-through
    assert picture[y, x - r, 3] == 255                         # outlined like the objects
    counted = DISCS[0]
    assert len(set(picture[counted[0], counted[1], :3])) > 1   # a counted object keeps its colour
    # Under the mouse, with the objects shown: which object, or that the grey piece is not counted.
    window.status_line.show_pixel((y, x))
    assert "not counted" not in window.statusBar().currentMessage()   # the objects are not shown yet
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    window.status_line.show_pixel((y, x))
    assert window.statusBar().currentMessage().endswith("not counted")
    window.status_line.show_pixel(counted[:2])
    assert window.statusBar().currentMessage().endswith(f"object {window.objects.labels[counted[:2]]}")
    window.status_line.show_pixel((0, 0))
    assert "object" not in window.statusBar().currentMessage()


def test_objects_keep_their_colours_when_a_new_prediction_renumbers_them(window, qtbot):
    """Each new prediction numbers the objects afresh; an object keeps its colour all the same
    (training refines the objects every few seconds: colours must not jump)."""
    document = shown(window, qtbot)
    panel, layer = window.objects_panel, window.objects.layer
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    predicted(document, discs())
    settled(window, qtbot)
    before = {(y, x): tuple(layer.image[y, x, :3]) for y, x, _ in DISCS}
    # A new disc above the others: it is object 1 now, and every other id moves up.
    predicted(document, discs(spec=[(10, 100, 6)] + DISCS))
    settled(window, qtbot)
    assert panel.model.rowCount() == 4
    after = {(y, x): tuple(layer.image[y, x, :3]) for y, x, _ in DISCS}
    assert after == before
    assert tuple(layer.image[10, 100, :3]) not in set(before.values())


def test_following_hues_go_with_the_largest_overlap():
    from unet_studio.gui.viewer.objects import following_hues

    old = np.zeros((10, 20), np.int32)
    old[:, :10], old[:, 10:] = 1, 2
    new = np.zeros_like(old)
    new[:, 10:], new[:, :4], new[:, 4:10] = 1, 2, 3    # 1 is the old 2; 2 and 3 split the old 1
    hues = following_hues(new, (old, np.array([0.0, 0.25, 0.5])), first=3)
    assert hues[1] == 0.5 and hues[3] == 0.25          # the larger piece keeps the colour
    assert hues[2] not in (0.25, 0.5)
    assert len(set(following_hues(new, None, first=0)[1:])) == 3   # without earlier objects: all apart


def test_another_plane_while_training_shows_its_own_objects_at_once(window, qtbot, monkeypatch):
    import unet_studio.gui.viewer.objects as objects_module

    monkeypatch.setattr(objects_module, "_now", lambda: 100.0)
    volume = np.stack([discs(), discs(spec=DISCS[:1])]).astype(np.uint8) * 100
    document = shown(window, qtbot, volume)
    panel, controller = window.objects_panel, window.objects
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    predicted(document, discs(), z=0)
    predicted(document, discs(spec=DISCS[:1]), z=1)
    document.set_plane(0, 0)
    window.training.running_changed.emit(True)
    settled(window, qtbot)
    controller._live_after = 1000.0    # the last job was long: this plane's next one waits
    predicted(document, discs(spec=DISCS[:2]), z=0)
    settled(window, qtbot)
    assert panel.model.rowCount() == 3 and controller._wait.isActive()
    document.set_plane(0, 1)
    settled(window, qtbot)
    assert panel.model.rowCount() == 1 and controller.labels_plane == (0, 1)


def test_a_new_object_size_while_training_splits_the_plane_at_once(window, qtbot, monkeypatch):
    """The pace holds back the previews' objects, not what the user asks for."""
    import unet_studio.gui.viewer.objects as objects_module

    monkeypatch.setattr(objects_module, "_now", lambda: 100.0)
    document = shown(window, qtbot)
    panel, controller = window.objects_panel, window.objects
    qtbot.mouseClick(panel.show_objects_box, Qt.MouseButton.LeftButton)
    predicted(document, discs(spec=[(64, 44, 16), (64, 80, 16), (20, 20, 3), (110, 110, 3)]))
    settled(window, qtbot)
    assert panel.model.rowCount() == 2
    window.training.running_changed.emit(True)
    controller._live_after = 1000.0
    panel.size.setValue(8.0)   # objects as small as the specks
    settled(window, qtbot)
    assert panel.model.rowCount() == 4 and not controller._wait.isActive()


def test_new_objects_take_hues_no_object_shown_took():
    from unet_studio.gui.viewer.objects import GOLDEN, following_hues

    old = np.zeros((10, 20), np.int32)
    old[:, :10] = 1
    new = np.zeros_like(old)
    new[:, :10], new[:, 12:] = 1, 2
    kept = np.array([0.0, 0.7])              # object 1 kept a hue from an earlier step
    hues = following_hues(new, (old, kept), first=5)
    assert hues[1] == 0.7 and hues[2] == (7 * GOLDEN) % 1.0
