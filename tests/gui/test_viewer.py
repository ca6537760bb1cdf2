"""Viewing: channels and composite, contrast kept across slices, status bar, network summary."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.gui.helpers import blobs_image, show_array, widget_pos
from unet_studio.gui.viewer.document import COMPOSITE


def two_channel_stack(z=3):
    nuclei = np.stack([blobs_image(seed=s)[0] for s in range(z)]).astype(np.uint16) * 10
    membrane = (4000 - nuclei).astype(np.uint16)
    return np.stack([nuclei, membrane], axis=1)  # Z, C, Y, X


def test_channels_composite_and_single(window):
    document = show_array(window, two_channel_stack(), "ZCYX")
    assert document.channel == COMPOSITE
    shown = window.canvas.rgb_layer.image
    assert shown.shape == (64, 64, 3) and shown.dtype == np.uint8
    # channel 1 in green, channel 2 in magenta: a bright nucleus is green, the rest magenta
    nucleus, outside = shown[16, 16], shown[2, 2]
    assert nucleus[1] > nucleus[0] and outside[0] > outside[1]
    panel = window.contrast_panel
    assert panel.channel.isVisibleTo(window) and not panel.histogram.isVisibleTo(window)
    panel.channel.setCurrentIndex(panel.channel.findData(1))
    assert document.channel == 1
    np.testing.assert_array_equal(window.canvas.image_layer.image, two_channel_stack()[document.z, 1])
    assert panel.histogram.isVisibleTo(window)


def test_contrast_chosen_by_the_user_is_kept_through_z(window):
    document = show_array(window, two_channel_stack(z=4)[:, 0], "ZYX")
    auto = document.levels[0]
    window.contrast_panel.histogram.item.setLevels(100, 900)
    window.contrast_panel.histogram.item.sigLevelChangeFinished.emit(window.contrast_panel.histogram.item)
    assert document.levels[0] == (100, 900)
    document.set_plane(0, 3)
    assert tuple(window.canvas.image_layer.getLevels()) == pytest.approx((100, 900))
    window.contrast_panel.auto_button.click()
    assert document.levels[0] == auto
    assert tuple(window.canvas.image_layer.getLevels()) == pytest.approx(auto)


def test_status_bar_shows_position_value_and_label(window, qtbot):
    image = blobs_image()[0]
    document = show_array(window, image, "YX")
    document.labels.paint_disc(0, 0, 16, 16, 3, 2)
    # A hover move (no button) sent directly: QTest's mouseMove does not hover offscreen.
    position = QPointF(widget_pos(window.canvas, 16, 16))
    move = QMouseEvent(QEvent.Type.MouseMove, position, window.canvas.viewport().mapToGlobal(position),
                       Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.canvas.viewport(), move)
    text = window.statusBar().currentMessage()
    assert f"value {image[16, 16]}" in text and "x 16" in text and "label foreground" in text


def test_network_summary_lists_layers_shapes_and_parameters(window, qtbot):
    from unet_studio.gui.training.network_summary import ModelViewDialog

    show_array(window, blobs_image()[0], "YX")
    window.training.config_options = {"width": 4, "depth": 2, "device": "cpu"}
    window.show_model_view()
    dialog = window.findChild(ModelViewDialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() > 0, timeout=60_000)
    blocks = [dialog.table.item(i, 0).text() for i in range(dialog.table.rowCount())]
    assert blocks == ["input", "inc", "down1", "down2", "up1", "up2", "outc"]
    assert dialog.table.item(6, 2).text().endswith("2 × 256 × 256")  # two classes out
    assert "parameters" in dialog.title.text()
    dialog.close()


def _hover(canvas, y: int, x: int) -> None:
    position = QPointF(widget_pos(canvas, y, x))
    move = QMouseEvent(QEvent.Type.MouseMove, position, canvas.viewport().mapToGlobal(position),
                       Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), move)


def test_status_bar_follows_the_plane_when_the_slider_moves(window, qtbot):
    stack = two_channel_stack(z=4)[:, 0]
    stack[3, 16, 16] = 1234
    document = show_array(window, stack, "ZYX")
    _hover(window.canvas, 16, 16)
    assert f"z {document.z}" in window.statusBar().currentMessage()
    window.slices_panel.z_slider.setValue(3)   # the mouse does not move
    text = window.statusBar().currentMessage()
    assert "z 3" in text and "value 1234" in text


def test_status_bar_follows_a_new_prediction_under_a_still_mouse(window, qtbot):
    """A live preview arrives while the mouse rests on a pixel just painted: the readout
    says what is shown now, not what was shown when the mouse last moved."""
    document = show_array(window, blobs_image()[0], "YX")
    background = np.zeros((2, 64, 64), np.float32)
    background[0] = 0.9
    background[1] = 0.1
    document.put_prediction(0, 0, background, np.ones((64, 64), np.uint8), np.zeros((64, 64), np.float32))
    _hover(window.canvas, 16, 16)
    assert "predicted background 90%" in window.statusBar().currentMessage()
    foreground = background[::-1].copy()
    document.put_prediction(0, 0, foreground, np.full((64, 64), 2, np.uint8), np.zeros((64, 64), np.float32))
    assert "predicted foreground 90%" in window.statusBar().currentMessage()


def test_channels_the_file_names_are_named_in_the_channel_list(window):
    show_array(window, two_channel_stack(), "ZCYX", channel_names=("DAPI", "Membrane"))
    channel = window.contrast_panel.channel
    assert [channel.itemText(i) for i in range(channel.count())][1:] == \
        ["Channel 1: DAPI (green)", "Channel 2: Membrane (magenta)"]
    show_array(window, two_channel_stack(), "ZCYX")
    assert channel.itemText(1) == "Channel 1 (green)"


def test_a_long_channel_name_does_not_widen_the_side_panel(window, qtbot):
    """The channel list of a panel first shown with a file's long names is no wider than with
    short ones (the side panel would grow past the window's edge)."""
    import pyqtgraph as pg

    from unet_studio.gui.panels.contrast_panel import ContrastPanel

    widths = []
    for names in (("DAPI", "GFP"), ("Alexa Fluor 647 anti-phospho-histone H3", "GFP")):
        document = show_array(window, two_channel_stack(), "ZCYX", channel_names=names)
        panel = ContrastPanel(pg.ImageItem())
        qtbot.addWidget(panel)
        panel.set_document(document)
        panel.show()
        widths.append(panel.channel.sizeHint().width())
    assert widths[1] == widths[0]
