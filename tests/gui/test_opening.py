"""Opening files: from the command line list, the start view, drag and drop; bad files give a
dialog and the app keeps running."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.gui.helpers import blobs_image
from unet_studio.core.stack import Stack


def write_stack(path, z=4):
    volume = np.stack([blobs_image(seed=s)[0] for s in range(z)])
    tifffile.imwrite(path, volume, imagej=True, metadata={"axes": "ZYX"})
    return volume


def wait_open(qtbot, window):
    qtbot.waitUntil(lambda: window.document is not None and not window.pool.running, timeout=30_000)


def test_open_files_shows_the_stack_with_a_z_slider(window, qtbot, tmp_path):
    path = tmp_path / "embryo.tif"
    volume = write_stack(path)
    window.open_files([str(path)])
    wait_open(qtbot, window)
    assert window.windowTitle() == "embryo.tif — unet_studio"
    assert window.document.stack.n_z == 4
    assert window.slices_panel.z_slider.maximum() == 3
    np.testing.assert_array_equal(window.canvas.image_layer.image, volume[window.document.z])
    # and it is remembered on the start view's recent list
    assert str(path.resolve()) in window.settings.value("recent_files")


def test_a_broken_file_gives_a_dialog_and_the_app_goes_on(window, qtbot, tmp_path, dialogs):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00" + b"\x00" * 10)
    window.open_files([str(bad)])
    qtbot.waitUntil(lambda: bool(dialogs.errors()), timeout=30_000)
    kind, title, reason = dialogs.errors()[0]
    assert title == "Cannot open the image"
    assert "broken.tif" in reason and "\n" not in reason
    assert window.document is None and window.pages.currentWidget() is window.start_view
    good = tmp_path / "good.tif"
    write_stack(good, z=2)
    window.open_files([str(good)])
    wait_open(qtbot, window)
    assert window.document.stack.n_z == 2


def test_an_image_too_large_for_the_window_gives_a_dialog_that_says_what_to_do(window, qtbot, tmp_path,
                                                                              dialogs, monkeypatch):
    from unet_studio.workflow import memory, opening

    monkeypatch.setattr(opening, "measure_levels", lambda stack: pytest.fail("a plane was read"))
    monkeypatch.setattr(memory, "free_memory", lambda: 2 * 2**30)
    slide = tmp_path / "slide.tif"
    tifffile.imwrite(slide, shape=(12000, 9000), dtype=np.uint16)   # 108 Mpx: about 5 GB here
    window.open_files([str(slide)])
    qtbot.waitUntil(lambda: bool(dialogs.errors()), timeout=30_000)
    _, title, reason = dialogs.errors()[0]
    assert title == "Cannot open the image" and "\n" not in reason
    assert "12000 x 9000 px needs about 5.1 GB to show, paint and predict here, more than 50% of the 2.0 GB free" in reason
    assert "unet-studio predict" in reason
    assert window.document is None and not (tmp_path / "slide.unet_studio").exists()
    opening.check_showable(Stack.from_array(np.zeros((64, 64), np.uint8), "YX"))   # a small image fits


def test_dropping_a_file_opens_it(window, qtbot, tmp_path):
    path = tmp_path / "dropped.tif"
    write_stack(path, z=2)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    wait_open(qtbot, window)
    assert window.windowTitle().startswith("dropped.tif")


def test_start_view_offers_the_sample(window, qtbot):
    assert window.pages.currentWidget() is window.start_view
    window.start_view.sample_button.click()
    wait_open(qtbot, window)
    assert window.document.stack.plane_shape == (520, 696)
    assert window.tools.tool == "brush" and window.tools.active_class == 1


def test_the_bundled_sample_is_not_listed_among_recent_images(window, qtbot, tmp_path):
    from unet_studio.resources import sample_image_path

    mine = tmp_path / "mine.tif"
    write_stack(mine, z=2)
    window.open_files([str(mine)])
    wait_open(qtbot, window)
    window.open_sample()
    qtbot.waitUntil(lambda: window.document.name != "mine.tif" and not window.pool.running, timeout=30_000)
    remembered = window.settings.value("recent_files")
    assert str(mine.resolve()) in remembered and str(sample_image_path().resolve()) not in remembered
    window.settings.setValue("recent_files", [str(sample_image_path().resolve()), str(mine.resolve())])
    window.recent.show()   # e.g. a list written before the sample was left out
    listed = [window.start_view.recent.item(i).text() for i in range(window.start_view.recent.count())]
    assert len(listed) == 1 and listed[0].startswith("mine.tif")


def test_an_ome_zarr_folder_opens_paints_and_trains_like_a_tiff(window, qtbot, tmp_path, dialogs):
    import pytest

    pytest.importorskip("ome_zarr")
    from tests.core.test_stack_zarr import write_ome_zarr
    from tests.gui.helpers import TINY_TRAINING, drag, wait_showing

    volume = np.stack([blobs_image(seed=s)[0] for s in range(3)])
    path = tmp_path / "embryo.ome.zarr"
    write_ome_zarr(path, volume, "zyx", {"z": 2.0, "y": 0.5, "x": 0.5}, {a: "micrometer" for a in "zyx"})
    window.open_files([str(path)])     # as a drop or File > Open OME-Zarr image does
    document = wait_showing(qtbot, window, "embryo.ome.zarr")
    assert document.stack.n_z == 3 and document.stack.pixel_size == (0.5, 0.5)
    assert window.windowTitle() == "embryo.ome.zarr — unet_studio"
    window.tools.set_brush_size(3)
    drag(qtbot, window.canvas, [(2, 2), (2, 60)])
    window.classes_panel.select(2)
    drag(qtbot, window.canvas, [(16, 12), (16, 20)])
    labels = tmp_path / "embryo.unet_studio" / "labels"
    qtbot.waitUntil(lambda: labels.is_dir() and any(labels.iterdir()) and not window.unsaved_labels(),
                    timeout=10_000)
    window.training.config_options = dict(TINY_TRAINING, steps=3)
    window.training.start()
    qtbot.waitUntil(lambda: not window.training.running, timeout=120_000)
    qtbot.waitUntil(lambda: window.pool.idle, timeout=60_000)
    assert not dialogs.errors() and len(window.session.project.models) == 1
