"""Model > Network summary: the U-Net's blocks, output shapes and parameter counts, and a diagram.

The summary needs a forward pass (and torch), so it is computed in a worker; the dialog shows
"Computing…" until it arrives. With no trained model yet it shows the network that Train would
build for this image.
"""
from __future__ import annotations

import math
from typing import Iterator

from PySide6.QtCore import QPointF, QRectF, Qt, Slot
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from unet_studio.gui.errors import show_error
from unet_studio.gui.workers import GeneratorWorker


def network_summary(model, in_channels: int, n_classes: int, options: dict) -> Iterator[dict]:
    """Worker generator: one dict with `title`, `rows` (LayerInfo list) and `total` params."""
    from unet_studio.ml.unet import UNet, summarise  # torch: worker thread only

    if model is not None:
        net = model.net
        title = "Trained model"
        if getattr(model, "summary", None):
            steps = model.summary.get("steps")
            if steps is not None:
                title += f" ({steps} training steps)"
    else:
        from unet_studio.ml.device import default_width, pick_device

        width = options.get("width") or default_width(pick_device(options.get("device", "auto")))
        net = UNet(in_channels, n_classes, depth=options.get("depth", 4), width=width,
                   norm=options.get("norm", "batch"), padding=options.get("padding", "same"))
        title = "Not trained yet: the network Train will build"
    rows = summarise(net)
    yield {"title": title, "arch": dict(net.arch), "rows": rows,
           "total": sum(p.numel() for p in net.parameters())}


class UNetDiagram(QWidget):
    """The U shape: encoder blocks going down, decoder blocks coming up, skip connections
    across; block height follows the image size, block width the number of channels."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows = []
        self.setMinimumSize(640, 300)

    def set_rows(self, rows) -> None:
        self.rows = [r for r in rows if r.name != "input"]
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        downs = [r for r in self.rows if r.name == "inc" or r.name.startswith("down")]
        ups = [r for r in self.rows if r.name.startswith("up")]
        out = [r for r in self.rows if r.name == "outc"]
        if not downs:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Computing…")
            return
        depth = len(downs) - 1
        columns = len(downs) + len(ups) + len(out)
        margin, top = 16.0, 24.0
        step_x = (self.width() - 2 * margin) / max(columns, 1)
        step_y = (self.height() - top - 40) / max(depth + 1, 1)
        max_channels = max(r.output_shape[1] for r in self.rows)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        painter.setFont(font)

        def block(col: int, level: int, row, color: QColor) -> QRectF:
            channels, size = row.output_shape[1], row.output_shape[-1]
            w = max(6.0, step_x * 0.55 * math.log2(channels + 1) / math.log2(max_channels + 1))
            h = max(14.0, step_y * 0.8 * (0.4 + 0.6 * (depth - level + 1) / (depth + 1)))
            x = margin + col * step_x + (step_x - w) / 2
            y = top + level * step_y
            rect = QRectF(x, y, w, h)
            painter.setPen(QPen(color.darker(150), 1))
            painter.setBrush(color)
            painter.drawRect(rect)
            painter.setPen(self.palette().text().color())
            painter.drawText(QRectF(x - step_x / 2, y + h + 1, w + step_x, 28),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             f"{row.name}\n{channels}×{size}²")
            return rect

        encoder = [block(i, i, r, QColor(96, 128, 176)) for i, r in enumerate(downs)]
        decoder = [block(len(downs) + i, depth - 1 - i, r, QColor(255, 184, 0)) for i, r in enumerate(ups)]
        outputs = [block(len(downs) + len(ups), depth - len(ups), r, QColor(46, 184, 92)) for r in out]
        arrow = QPen(self.palette().text().color(), 1.2)
        painter.setPen(arrow)
        chain = encoder + decoder + outputs
        for a, b in zip(chain, chain[1:]):
            self._arrow(painter, QPointF(a.right(), a.center().y()), QPointF(b.left(), b.center().y()))
        skip = QPen(QColor(150, 150, 150), 1, Qt.PenStyle.DashLine)
        for i, up in enumerate(decoder):
            source = encoder[depth - 1 - i]
            painter.setPen(skip)
            self._arrow(painter, QPointF(source.right(), source.top() + 4), QPointF(up.left(), source.top() + 4))
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(margin, self.height() - 22, self.width() - 2 * margin, 20),
                         Qt.AlignmentFlag.AlignLeft,
                         "blue: contracting path (features × size²)   yellow: expanding path   "
                         "green: class scores   dashed: skip connections (copy and concatenate)")

    @staticmethod
    def _arrow(painter: QPainter, a: QPointF, b: QPointF) -> None:
        painter.drawLine(a, b)
        angle = math.atan2(b.y() - a.y(), b.x() - a.x())
        head = [b, b - QPointF(math.cos(angle - 0.4) * 6, math.sin(angle - 0.4) * 6),
                b - QPointF(math.cos(angle + 0.4) * 6, math.sin(angle + 0.4) * 6)]
        painter.setBrush(painter.pen().color())
        painter.drawPolygon(QPolygonF(head))


class ModelViewDialog(QDialog):
    """Shows the summary table and the diagram of the document's model."""

    def __init__(self, pool, document, options: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Network summary — unet_studio")
        self.resize(820, 640)
        self.title = QLabel("Computing…")
        self.title.setWordWrap(True)
        self.diagram = UNetDiagram()
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Block", "Layers", "Output shape", "Parameters"])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.diagram, 1)
        layout.addWidget(self.table, 1)
        if document is None:
            self.title.setText("Open an image first.")
            return
        model = document.model
        n_c, n_k = document.stack.n_c, document.labels.n_classes
        worker = GeneratorWorker(lambda: network_summary(model, n_c, n_k, dict(options)), name="summary")
        worker.yielded.connect(self._show)
        worker.failed.connect(self._failed)
        pool.start(worker)

    @Slot(object)
    def _show(self, summary: dict) -> None:
        arch = summary["arch"]
        self.title.setText(
            f"<b>{summary['title']}</b><br>U-Net, depth {arch['depth']}, width {arch['width']}, "
            f"{arch['norm']} norm, '{arch['padding']}' padding: {arch['in_channels']} input channel(s) → "
            f"{arch['n_classes']} classes. <b>{summary['total']:,} parameters</b>.")
        rows = summary["rows"]
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            values = [row.name, row.kind, " × ".join(str(n) for n in row.output_shape), f"{row.params:,}"]
            for j, value in enumerate(values):
                item = QTableWidgetItem(value)
                if j == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)
        self.diagram.set_rows(rows)

    @Slot(str)
    def _failed(self, reason: str) -> None:
        self.title.setText("The summary could not be computed.")
        show_error(self, "Network summary", reason)
