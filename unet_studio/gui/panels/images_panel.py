"""The images of the project: name, how many pixels are labeled, missing files; add, remove,
locate, switch. Image files dropped on the list are added to the project."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MISSING_COLOR = QColor(190, 30, 30)


@dataclass
class ImageRow:
    """What the list shows for one image. count: labeled pixels, None while unknown, -1 when
    its labels file cannot be read."""

    id: str
    name: str
    path: str
    count: int | None
    missing: bool
    current: bool


def describe(row: ImageRow) -> str:
    """The second line of a row: what state the image is in, in a few words."""
    if row.missing:
        return "missing: press Locate…"
    if row.count is None:
        return "…"
    if row.count < 0:
        return "labels damaged"
    if row.count == 0:
        return "no labels yet"
    return f"{row.count:,} labeled pixels"


class _DropList(QListWidget):
    files_dropped = Signal(list)

    def __init__(self):
        super().__init__()
        self.setAcceptDrops(True)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)


class ImagesPanel(QWidget):
    """Signals: image_chosen(id), add_clicked(), remove_clicked(id), locate_clicked(id),
    files_dropped(paths)."""

    image_chosen = Signal(str)
    add_clicked = Signal()
    remove_clicked = Signal(str)
    locate_clicked = Signal(str)
    files_dropped = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = _DropList()
        self.list.setToolTip("Click an image to paint on it. Training uses the labels of every image.")
        self.list.setMinimumHeight(90)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        self.list.currentItemChanged.connect(lambda *_: self._sync_buttons())
        self.list.files_dropped.connect(self.files_dropped)
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add image files to the project (or drop them on the list)")
        self.add_button.clicked.connect(self.add_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Take the image out of the project (its labels file is kept)")
        self.remove_button.clicked.connect(lambda: self._emit_selected(self.remove_clicked))
        self.locate_button = QPushButton("Locate…")
        self.locate_button.setToolTip("Show where a missing image is now")
        self.locate_button.clicked.connect(lambda: self._emit_selected(self.locate_clicked))
        self.summary = QLabel("")
        self.summary.setStyleSheet("color: #555")
        self.summary.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.remove_button, self.locate_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        self.rows: list[ImageRow] = []
        self._sync_buttons()

    def set_rows(self, rows: list[ImageRow]) -> None:
        selected = self.selected_id()
        self.rows = list(rows)
        self.list.blockSignals(True)
        self.list.clear()
        for row in rows:
            item = QListWidgetItem(f"{'▶ ' if row.current else '    '}{row.name}\n      {describe(row)}")
            item.setData(Qt.ItemDataRole.UserRole, row.id)
            item.setToolTip(row.path)
            if row.current:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            if row.missing or (row.count is not None and row.count < 0):
                item.setForeground(QBrush(MISSING_COLOR))
            self.list.addItem(item)
            if row.id == selected or (selected is None and row.current):
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        labeled = sum(1 for r in rows if r.count and r.count > 0)
        missing = sum(1 for r in rows if r.missing)
        text = f"{len(rows)} image{'s' if len(rows) != 1 else ''}, {labeled} with labels"
        self.summary.setText(text + (f", {missing} missing" if missing else ""))
        self._sync_buttons()

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def row(self, image_id: str) -> ImageRow | None:
        return next((r for r in self.rows if r.id == image_id), None)

    def set_enabled(self, enabled: bool) -> None:
        self.add_button.setEnabled(enabled)
        self.list.setEnabled(enabled)
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        row = self.row(self.selected_id()) if self.selected_id() is not None else None
        self.remove_button.setEnabled(row is not None and self.list.isEnabled())
        self.locate_button.setEnabled(row is not None and row.missing and self.list.isEnabled())

    def _emit_selected(self, signal) -> None:
        image_id = self.selected_id()
        if image_id is not None:
            signal.emit(image_id)

    def _clicked(self, item: QListWidgetItem) -> None:
        self._sync_buttons()
        self.image_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
