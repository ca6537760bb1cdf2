"""Channel choice and contrast: a histogram with draggable levels, and an Auto button.

Levels are kept per channel in the document and passed explicitly to the image, so moving
through Z or T keeps the contrast the user chose.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from unet_studio.workflow.display import CHANNEL_NAMES, is_rgb
from unet_studio.gui.viewer.document import COMPOSITE


class ContrastPanel(QWidget):
    """Bound to the canvas's greyscale image item and to the open document."""

    def __init__(self, image_item: pg.ImageItem, parent=None):
        super().__init__(parent)
        self.document = None
        self.channel = QComboBox()
        self.channel.setToolTip("Which channel to show, or all of them in colour")
        # Long channel names (a file's own) must not widen the side panel: the list shows them whole.
        self.channel.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.channel.setMinimumContentsLength(16)
        self.channel.currentIndexChanged.connect(self._channel_chosen)
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("Automatic contrast (0.5 to 99.8 percentile of the stack)")
        self.auto_button.clicked.connect(self._auto)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.channel_label = QLabel("Channel")
        row.addWidget(self.channel_label)
        row.addWidget(self.channel, 1)
        row.addWidget(self.auto_button)

        self.histogram = pg.HistogramLUTWidget(orientation="horizontal",
                                               background=self.palette().base().color())
        self.histogram.setImageItem(image_item)
        self.histogram.setMinimumHeight(70)
        self.histogram.setMaximumHeight(90)
        self.histogram.item.sigLevelChangeFinished.connect(self._levels_dragged)
        self.composite_note = QLabel("Choose one channel to adjust its contrast.")
        self.composite_note.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.histogram)
        layout.addWidget(self.composite_note)
        self.set_document(None)

    def set_document(self, document) -> None:
        self.document = document
        self.channel.blockSignals(True)
        self.channel.clear()
        n_c = document.stack.n_c if document is not None else 1
        if document is not None and n_c > 1:
            rgb = is_rgb(document.stack.dtype, n_c)
            self.channel.addItem("Colour (RGB)" if rgb else "Composite (all channels)", COMPOSITE)
            named = document.stack.channel_names
            for c in range(n_c):
                colour = CHANNEL_NAMES[c % len(CHANNEL_NAMES)]
                name = "RGBA"[c] if rgb else f"{c + 1}: {named[c]} ({colour})" if named else f"{c + 1} ({colour})"
                self.channel.addItem(f"Channel {name}", c)
            self.channel.setCurrentIndex(self.channel.findData(document.channel))
        self.channel.blockSignals(False)
        for widget in (self.channel, self.channel_label):
            widget.setVisible(n_c > 1)
        self.auto_button.setEnabled(document is not None)
        self.sync()

    def sync(self) -> None:
        """Show or hide the histogram for the current channel mode."""
        composite = self.document is not None and self.document.channel == COMPOSITE
        self.histogram.setVisible(not composite)
        self.composite_note.setVisible(composite)

    def _channel_chosen(self, index: int) -> None:
        if self.document is not None and index >= 0:
            self.document.set_channel(self.channel.itemData(index))
            self.sync()

    def _levels_dragged(self, *_args) -> None:
        if self.document is not None and self.document.channel != COMPOSITE:
            self.document.set_levels(self.document.channel, self.histogram.item.getLevels())

    def _auto(self) -> None:
        if self.document is not None:
            self.document.reset_levels()
