"""Opening files: from the command line list, the start view, drag and drop; bad files give a
dialog and the app keeps running."""
from __future__ import annotations

import numpy as np
import tifffile
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.gui.helpers import blobs_image


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
