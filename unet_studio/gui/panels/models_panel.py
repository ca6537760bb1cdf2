"""The models trained in this project, newest first: when, how many steps, final loss (a
training that went on by itself across images is one row, its runs' models under it); the
current one is marked, and going back to an earlier one is a click on "Use this model";
"Start a new model" makes the next training start afresh from the built-in starting model."""
from __future__ import annotations

import math
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from unet_studio.core.model_history import training_steps, trainings

CURRENT_MARK = "●"


def when(iso_time: str, today=None) -> str:
    """"today 14:05" or "31 Jan 14:05" from an ISO time; the text itself if it is not one."""
    try:
        moment = datetime.fromisoformat(iso_time)
    except (TypeError, ValueError):
        return str(iso_time)
    today = today or datetime.now(moment.tzinfo).date()
    day = "today" if moment.date() == today else moment.strftime("%d %b").lstrip("0")
    return f"{day} {moment:%H:%M}"


def loss_text(loss: float | None) -> str:
    """A run's loss in two significant digits (0.031, 0.39), and below 0.001 as "< 0.001"
    rather than 0.000 or 8.2e-05."""
    if loss is None or not math.isfinite(loss):
        return "–"
    return "< 0.001" if loss < 0.001 else f"{loss:.2g}"


def describe_info(entry) -> str:
    """Tooltip: what the run was trained on."""
    info = entry.info or {}
    parts = []
    if info.get("images"):
        names = info["images"]
        parts.append(f"trained on {len(names)} image{'s' if len(names) != 1 else ''}: {', '.join(names)}")
    if info.get("seconds") is not None:
        parts.append(f"{float(info['seconds']):.0f} s on {info.get('device', '?')}")
    if info.get("imported_from"):
        parts.append(f"taken from {info['imported_from']}")
    if info.get("started_from"):
        parts.append(f"continued from the model of {when(info.get('started_from_time', ''))}"
                     if info.get("started_from_time") else f"continued from {info['started_from']}")
    if info.get("recovered"):
        parts.append("found again in the project folder: the project's list had lost it")
    return "\n".join(parts) or entry.file


NO_MODEL_YET = "No model yet: press Train. Each training run is kept here."
FIRST_RUN = "Training the first model… It is kept here when training stops."


class ModelsPanel(QWidget):
    """Signals: model_chosen(model id), when the user asks to use another model;
    new_model_asked(), when the next training should start a new model."""

    model_chosen = Signal(str)
    new_model_asked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["", "Trained", "Steps", "Loss"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setMinimumHeight(80)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setToolTip(f"{CURRENT_MARK} marks the model shown and trained further. "
                             "Double-click an earlier one to go back to it.")
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._choose(item))
        self.tree.currentItemChanged.connect(lambda *_: self._sync_button())
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Make the selected model the current one: the overlay shows "
                                   "its prediction and the next training starts from it")
        self.use_button.clicked.connect(lambda: self._choose(self.tree.currentItem()))
        self.new_button = QPushButton("Start a new model")
        self.new_button.setToolTip("The next training starts afresh from the built-in starting "
                                   "model instead of going on from the current one; every model "
                                   "stays in this list")
        self.new_button.clicked.connect(self.new_model_asked)
        self.empty = QLabel(NO_MODEL_YET)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #555")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.use_button)
        layout.addWidget(self.new_button)
        self.current_id: str | None = None
        self.set_models([])

    def set_models(self, entries: list) -> None:
        """Show ModelEntry objects (oldest first, as in the project); the newest training on
        top. A training that went on by itself across images (core.model_history.trainings) is
        one row: its latest model, the steps of all its runs; the earlier runs' models are
        under it, to go back to."""
        self.tree.clear()
        self.current_id = None
        chains = trainings(entries)
        for chain in reversed(chains):
            head = self._item(chain[-1], training_steps(chain))
            if len(chain) > 1:
                for column in range(4):
                    head.setToolTip(column, f"one training: it went on as you showed other images "
                                            f"({len(chain)} runs, the earlier ones under it)\n"
                                            + head.toolTip(column))
            self.tree.addTopLevelItem(head)
            for entry in reversed(chain[:-1]):
                run = self._item(entry, entry.steps)
                if not entry.current:   # a step on the way: quieter than the trainings (as the theme greys)
                    grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
                    for column in range(4):
                        run.setForeground(column, grey)
                head.addChild(run)
        self.tree.setRootIsDecorated(any(len(chain) > 1 for chain in chains))
        for item in self._items():
            if item.data(0, Qt.ItemDataRole.UserRole) == self.current_id:
                if item.parent() is not None:
                    item.parent().setExpanded(True)
                self.tree.setCurrentItem(item)
        self.tree.setVisible(bool(entries))
        self.empty.setVisible(not entries)
        self._sync_button()

    def _item(self, entry, steps: int | None) -> QTreeWidgetItem:
        item = QTreeWidgetItem([CURRENT_MARK if entry.current else "", when(entry.time),
                                "–" if steps is None else str(steps), loss_text(entry.loss)])
        item.setData(0, Qt.ItemDataRole.UserRole, entry.id)
        for column in (2, 3):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        tip = describe_info(entry)
        for column in range(4):
            item.setToolTip(column, tip)
        if entry.current:
            self.current_id = entry.id
            font = QFont(item.font(0))
            font.setBold(True)
            for column in range(4):
                item.setFont(column, font)
        return item

    def _items(self) -> list[QTreeWidgetItem]:
        """Every row, the runs under a training included."""
        items = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            items += [top] + [top.child(j) for j in range(top.childCount())]
        return items

    def set_training(self, running: bool) -> None:
        """While a run trains and no model is listed yet, say so rather than "No model yet"."""
        self.empty.setText(FIRST_RUN if running else NO_MODEL_YET)

    def selected_id(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    def _sync_button(self) -> None:
        selected = self.selected_id()
        self.use_button.setVisible(len(self._items()) > 1)
        self.use_button.setEnabled(selected is not None and selected != self.current_id)
        self.new_button.setVisible(self.tree.topLevelItemCount() > 0)
        self.new_button.setEnabled(self.current_id is not None)

    def _choose(self, item) -> None:
        if item is None:
            return
        model_id = item.data(0, Qt.ItemDataRole.UserRole)
        if model_id != self.current_id:
            self.model_chosen.emit(model_id)
