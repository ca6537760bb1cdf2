"""Train / Stop, and how training is going: step, loss curve, speed and device.

The panel only shows what the training controller reports; the loss curve is redrawn at most a
few times per second however often reports arrive, to keep the event loop free for painting.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from superqt import QElidingLabel

from unet_studio.gui.panels.models_panel import loss_text

TRAIN_TEXT = "Train (Ctrl+T)"
STOP_TEXT = "Stop training (Ctrl+T)"


class TrainingPanel(QWidget):
    """Signals: `train_clicked()` and `stop_clicked()` (the same button, by state)."""

    train_clicked = Signal()
    stop_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.button = QPushButton(TRAIN_TEXT)
        self.button.setToolTip("Train the network on your strokes; keep painting while it trains")
        self.button.setMinimumHeight(32)
        font = self.button.font()
        font.setBold(True)  # the one thing to press after painting
        self.button.setFont(font)
        self.button.clicked.connect(self._clicked)
        self.running = False

        self.step = QLabel("–")
        self.loss = QLabel("–")
        self.speed = QLabel("–")
        # The device can be long ("CPU (1 thread; 2 cores busy ...)"): elided, in full as its
        # tooltip, so it never widens the panel beyond the window.
        self.device = QElidingLabel("–")
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for row, (name, value) in enumerate((("Step", self.step), ("Loss", self.loss),
                                             ("Speed", self.speed), ("Device", self.device))):
            grid.addWidget(QLabel(name), row // 2, (row % 2) * 2)
            grid.addWidget(value, row // 2, (row % 2) * 2 + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        self.plot = pg.PlotWidget(background=self.palette().base().color())
        self.plot.setMinimumHeight(100)
        self.plot.setMaximumHeight(130)
        text_pen = pg.mkPen(self.palette().text().color())
        for side in ("left", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(text_pen)
            axis.setTextPen(text_pen)
            axis.enableAutoSIPrefix(False)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.curve = self.plot.plot(pen=pg.mkPen((200, 110, 0), width=2))
        what_loss = ("How far the model's answers are from your strokes (cross-entropy on the painted "
                     "pixels); lower is better. New strokes where it was wrong raise it for a while.")
        self.loss.setToolTip(what_loss)
        self.plot.setToolTip(what_loss)

        self.message = QLabel("")
        self.message.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addLayout(grid)
        layout.addWidget(self.plot)
        layout.addWidget(self.message)

        self._steps: list[int] = []
        self._losses: list[float] = []
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(250)
        self._redraw.timeout.connect(self._draw_curve)

    def _clicked(self) -> None:
        (self.stop_clicked if self.running else self.train_clicked).emit()

    def set_running(self, running: bool) -> None:
        self.running = running
        self.button.setText(STOP_TEXT if running else TRAIN_TEXT)

    def clear(self) -> None:
        self._steps.clear()
        self._losses.clear()
        self.curve.setData([], [])
        # An empty curve keeps the old run's axes; start from a blank range (auto-range stays on).
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0, disableAutoRange=False)
        for label in (self.step, self.loss, self.speed, self.device):
            label.setText("–")

    def show_progress(self, step: int, loss: float, patches_per_s: float, device: str) -> None:
        """One training report: the numbers at once, the curve within 250 ms."""
        self.step.setText(str(step))
        self.loss.setText(loss_text(loss))
        if patches_per_s > 0:  # a last report after Stop may carry no speed: keep the last one
            self.speed.setText(f"{patches_per_s:.1f} patches/s")
        self.device.setText(device)
        self.device.setToolTip(device)
        if np.isfinite(loss):
            self._steps.append(step)
            self._losses.append(loss)
        if not self._redraw.isActive():
            self._redraw.start()

    def _draw_curve(self) -> None:
        self.curve.setData(np.asarray(self._steps), np.asarray(self._losses))

    def show_message(self, text: str) -> None:
        self.message.setText(text)
