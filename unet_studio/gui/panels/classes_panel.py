"""The list of label classes: colour swatch, key and name; add, rename, recolour, remove.

Clicking a class makes it the one the brush paints (keys 1-9 do the same). The list is rebuilt
from LabelVolume.classes whenever they change, so it never disagrees with the labels. Edits go
to the project when there is one, so every image of it keeps the same classes.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from unet_studio.core.class_templates import TEMPLATES, apply_template, has_default_names
from unet_studio.core.errors import UnetStudioError
from unet_studio.gui.errors import ask_yes_no, show_error
from unet_studio.gui.viewer.tool_state import ToolState


def swatch(rgb: tuple[int, int, int], size: int = 16) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


class LabelsClassEditor:
    """Class edits on one LabelVolume, with the names the Project uses for its class edits."""

    def __init__(self, labels):
        self.labels = labels
        self.add_class = labels.add_class
        self.rename_class = labels.rename_class
        self.set_class_color = labels.set_color
        self.remove_class = labels.remove_class

    @property
    def images(self) -> list:
        return []


class ClassesPanel(QWidget):
    """Shows the classes of the open LabelVolume and edits them through its methods."""

    def __init__(self, tools: ToolState, parent=None):
        super().__init__(parent)
        self.tools = tools
        self.labels = None
        self.editor = None   # a Project, or a LabelsClassEditor without one
        self._disconnect = None
        self.list = QListWidget()
        self.list.setToolTip("Click a class to paint it (keys 1-9). Double-click to rename.")
        self.list.currentRowChanged.connect(self._row_selected)
        self.list.itemDoubleClicked.connect(lambda _item: self.rename_current())

        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add a class (e.g. a second cell type, or cell borders)")
        self.add_button.clicked.connect(self.add_class)
        self.rename_button = QPushButton("Rename")
        self.rename_button.clicked.connect(self.rename_current)
        self.color_button = QPushButton("Colour")
        self.color_button.clicked.connect(self.recolor_current)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the class and erase its labels (undo brings them back)")
        self.remove_button.clicked.connect(self.remove_current)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.rename_button, self.color_button, self.remove_button):
            buttons.addWidget(button)

        # Until the classes have names of the user's, one choice names them all.
        self.templates = QComboBox()
        self.templates.addItem("What are you segmenting? (names the classes)")
        self.templates.addItems(list(TEMPLATES))
        self.templates.setToolTip("Names the classes for what you paint; Rename changes any name later")
        self.templates.activated.connect(self._template_chosen)
        # Once named, a hint takes the choice's place at its height: the classes below stay
        # where they were, under the pointer of someone about to click one.
        self.named_hint = QLabel("Double-click a class to rename it.")
        self.named_hint.setEnabled(False)   # greyed: a hint, not a control
        self.naming = QStackedWidget()
        self.naming.addWidget(self.templates)
        self.naming.addWidget(self.named_hint)
        self.naming.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.naming)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        tools.active_class_changed.connect(self._show_active)
        self.set_labels(None)

    def set_labels(self, labels, editor=None) -> None:
        """Show the classes of `labels`; `editor` (a Project) applies edits to every image."""
        if self._disconnect is not None:
            self._disconnect()
            self._disconnect = None
        self.labels = labels
        self.editor = editor if editor is not None or labels is None else LabelsClassEditor(labels)
        if labels is not None:
            self._disconnect = labels.on_classes_changed(self._rebuild)
        for widget in (self.list, self.add_button, self.rename_button, self.color_button, self.remove_button):
            widget.setEnabled(labels is not None)
        self._rebuild()

    def _rebuild(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        classes = self.labels.classes if self.labels is not None else []
        for k, label_class in enumerate(classes, start=1):
            key = f"{k}  " if k <= 9 else "   "
            item = QListWidgetItem(swatch(label_class.color), f"{key}{label_class.name}")
            self.list.addItem(item)
        self.list.blockSignals(False)
        default_names = has_default_names([c.name for c in classes])
        self.naming.setCurrentWidget(self.templates if default_names else self.named_hint)
        self._fit_height()
        if classes and self.tools.active_class > len(classes):
            self.tools.set_active_class(len(classes))
        self._show_active(self.tools.active_class)

    def _fit_height(self) -> None:
        # As tall as the classes (2 to 6 rows), then it scrolls: no empty box, no long list.
        rows = min(max(self.list.count(), 2), 6)
        row_height = self.list.sizeHintForRow(0) if self.list.count() else 18
        self.list.setFixedHeight(rows * row_height + 2 * self.list.frameWidth() + 4)

    def _show_active(self, k: int) -> None:
        self.list.blockSignals(True)
        self.list.setCurrentRow(k - 1 if self.list.count() >= k else -1)
        self.list.blockSignals(False)

    def _row_selected(self, row: int) -> None:
        if row >= 0:
            self.tools.set_active_class(row + 1)

    def select(self, k: int) -> None:
        """Make class k active (key k); ignored when there is no such class."""
        if self.labels is not None and 1 <= k <= self.labels.n_classes:
            self.tools.set_active_class(k)

    # ---- edits (each through LabelVolume, which validates and records undo) --------------
    def _template_chosen(self, index: int) -> None:
        self.templates.setCurrentIndex(0)
        if index > 0 and self.labels is not None:
            names = [c.name for c in self.labels.classes]
            self._try(lambda: apply_template(self.editor, names, self.templates.itemText(index)))

    def add_class(self) -> None:
        if self.labels is None:
            return
        name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:",
                                        text=f"class {self.labels.n_classes + 1}")
        if ok and name.strip():
            self._try(lambda: self.tools.set_active_class(self.editor.add_class(name.strip())))

    def rename_current(self) -> None:
        k = self.tools.active_class
        if self.labels is None or k > self.labels.n_classes:
            return
        old = self.labels.classes[k - 1].name
        name, ok = QInputDialog.getText(self, "Rename class", f"New name for \u201c{old}\u201d:", text=old)
        if ok and name.strip() and name.strip() != old:
            self._try(lambda: self.editor.rename_class(k, name.strip()))

    def recolor_current(self) -> None:
        k = self.tools.active_class
        if self.labels is None or k > self.labels.n_classes:
            return
        color = QColorDialog.getColor(QColor(*self.labels.classes[k - 1].color), self, "Class colour")
        if color.isValid():
            self._try(lambda: self.editor.set_class_color(k, (color.red(), color.green(), color.blue())))

    def remove_current(self) -> None:
        k = self.tools.active_class
        if self.labels is None or k > self.labels.n_classes:
            return
        name = self.labels.classes[k - 1].name
        where = "on every image of the project" if len(self.editor.images) > 1 else ""
        undo = "This cannot be undone." if where else "Edit > Undo brings them back."
        if ask_yes_no(self, "Remove class",
                      f"Remove the class \u201c{name}\u201d and erase all its labels {where}?\n{undo}"
                      .replace(" ?", "?")):
            self._try(lambda: self.editor.remove_class(k))

    def _try(self, action) -> None:
        try:
            action()
        except UnetStudioError as error:
            show_error(self, "Cannot change the classes", str(error))
