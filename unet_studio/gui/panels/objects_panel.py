"""The objects of the shown plane: which class, their typical size (measured, or set by the
user), how many, a sortable table of their numbers and a histogram of their areas. Clicking a
row asks to centre the view on that object."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QTableView,
    QWidget,
)

from unet_studio.core.class_templates import object_class
from unet_studio.workflow.export import PredictionOptions

# Table columns shown (object_table's name -> header); intensity columns are added as found.
SHOWN = {"id": "id", "area_px": "area px", "area_um2": "area µm²", "volume_um3": "volume µm³",
         "equivalent_diameter_px": "diameter px", "confidence": "confidence",
         "centroid_z": "z", "centroid_y": "y", "centroid_x": "x"}
SHOWN_3D = {**SHOWN, "volume_voxels": "volume voxels"}   # objects joined across slices
UNCOUNTED_HINT = ("Hatched grey on the image: the network predicts this class there, but less surely than "
                  "on the objects it counts, so they are left out of the count, the table and "
                  "exports. Paint them (as this class, or as what they really are) and train on.")


SIZED_ROWS = 100   # rows the table's column widths are measured on


class ObjectTableModel(QAbstractTableModel):
    """A table (column name -> array, workflow/object_table.py) for a QTableView; sorts itself,
    and keeps the user's sort when a new table of the same plane comes (training refines it)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table: dict = {}
        self.columns: list[str] = []
        self.headers = SHOWN
        self.order = np.zeros(0, int)   # row r shows object self.order[r]
        self.sorted_by: tuple[str, bool] | None = None   # (column, descending) the user chose

    def set_table(self, table: dict, channels: tuple[str, ...] = ()) -> None:
        """`channels`: what the image calls its channels ("mean DAPI" rather than "mean c1")."""
        self.beginResetModel()
        self.table = table
        self.headers = dict(SHOWN_3D if "centroid_z" in table else SHOWN)   # 3-D: joined across slices
        intensity = [c for c in table if c.startswith("mean_intensity")]
        self.headers.update({f"mean_intensity_c{c + 1}": f"mean {name}" for c, name in enumerate(channels)})
        first = [c for c in ("id", "area_px", "volume_voxels", "area_um2", "volume_um3", "equivalent_diameter_px")
                 if c in table]
        last = [c for c in ("confidence", "centroid_z", "centroid_y", "centroid_x") if c in table]
        self.columns = first + intensity + last
        self.order = self._ordered()
        self.endResetModel()

    def _ordered(self) -> np.ndarray:
        """The rows in the order the user sorted them by (the order of the ids where unsorted)."""
        if self.sorted_by is None or self.sorted_by[0] not in self.table:
            return np.arange(len(self.table.get("id", ())))
        order = np.argsort(np.asarray(self.table[self.sorted_by[0]]), kind="stable")
        return order[::-1] if self.sorted_by[1] else order

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def value(self, row: int, column: str):
        return self.table[column][self.order[row]]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        return self.text(index.row(), index.column())

    def text(self, row: int, column: int) -> str:
        """The cell as shown."""
        value = self.value(row, self.columns[column])
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.3g}" if abs(value) < 1000 else f"{float(value):.0f}"
        return str(value)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        name = self.columns[section]
        return self.headers.get(name, name.replace("mean_intensity_", "mean "))

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self.layoutAboutToBeChanged.emit()
        self.sorted_by = (self.columns[column], order == Qt.SortOrder.DescendingOrder)
        self.order = self._ordered()
        self.layoutChanged.emit()


class ObjectsPanel(QWidget):
    """Signals: class_chosen(k) (1-based), size_changed() (the user's size or back to measured),
    object_clicked(row of the table: dict of that object's values), joined_changed(on)."""

    class_chosen = Signal(int)
    size_changed = Signal()
    object_clicked = Signal(dict)
    shown_changed = Signal(bool)   # the objects view on the canvas, on or off
    joined_changed = Signal(bool)  # objects joined across slices, on or off

    def __init__(self, parent=None):
        super().__init__(parent)
        self.object_class = QComboBox()
        self.object_class.setToolTip("The class whose connected pieces are objects")
        self.object_class.currentIndexChanged.connect(lambda i: i >= 0 and self.class_chosen.emit(i + 1))
        self.size = QDoubleSpinBox()
        self.size.setRange(0.0, 10_000.0)
        self.size.setSpecialValueText("–")   # 0: nothing measured yet
        self.size.setDecimals(1)
        self.size.setSuffix(" px")
        self.size.setKeyboardTracking(False)
        self.size.setToolTip("Typical object width (its widest inscribed circle; the table's diameter is "
                             "that of a disc of the same area, a little larger): specks much smaller "
                             "are dropped, touching objects split at this scale. Change it to re-split "
                             "the shown plane.")
        self.size.valueChanged.connect(self._size_edited)
        self.measured_button = QPushButton("Measured")
        self.measured_button.setToolTip("Use the size measured from the prediction")
        self.measured_button.clicked.connect(self.use_measured)
        self.measured_button.setEnabled(False)   # the size is the measured one until changed
        self.show_objects_box = QCheckBox("Show objects on the image")
        self.show_objects_box.setToolTip("Each object its own colour, outlined, instead of the classes")
        self.show_objects_box.toggled.connect(self.shown_changed)
        self.across_slices_box = QCheckBox("Join slices into 3-D objects")
        self.across_slices_box.setToolTip(
            "In a Z stack, an object that spans slices gets one id and one row with its volume "
            "(slices as far apart as the image's Z spacing says), here and in exported instances, "
            "tables and ROIs. Here every slice of the shown time point is predicted first.")
        self.across_slices_box.setEnabled(False)   # only a stack with slices (set_slices)
        self.across_slices_box.toggled.connect(self.joined_changed)
        self.size_um = QLabel("")
        self.count = QLabel("No prediction yet")
        self.count.setWordWrap(True)
        self.view = QTableView()
        self.model = ObjectTableModel(self)
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        # Column widths are measured here on each new table (_fit_columns), not by the header
        # resizing to its contents: that asks the model for every role of every cell it
        # measures, a Python call each, 30 ms for a table of 100 rows, every few seconds
        # while training, in one pause the user would feel.
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.setMinimumHeight(160)
        self.view.clicked.connect(self._row_clicked)
        self.histogram = pg.PlotWidget(background="w")
        self.histogram.setMinimumHeight(110)
        self.histogram.setMaximumHeight(140)
        self.histogram.setLabel("bottom", "area (px)")
        self.histogram.setMouseEnabled(False, False)
        self.histogram.hideButtons()
        # One bar item, given new bars each time, made now: making and adding one costs a pause
        # the objects found while training runs would show the user.
        self._bars = pg.BarGraphItem(x0=[0.0], x1=[1.0], height=[0], brush="#4a90d9")
        self._bars.setVisible(False)
        self.histogram.addItem(self._bars)
        self.status_label = QLabel("")   # the count, for the window's status bar
        self._user_size: float | None = None
        self._showing = False

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Class"), 0, 0)
        layout.addWidget(self.object_class, 0, 1, 1, 2)
        layout.addWidget(QLabel("Size"), 1, 0)
        layout.addWidget(self.size, 1, 1)
        layout.addWidget(self.measured_button, 1, 2)
        layout.addWidget(self.size_um, 2, 1, 1, 2)
        layout.addWidget(self.count, 3, 0, 1, 3)
        layout.addWidget(self.show_objects_box, 4, 0, 1, 3)
        layout.addWidget(self.across_slices_box, 5, 0, 1, 3)
        layout.addWidget(self.view, 6, 0, 1, 3)
        layout.addWidget(self.histogram, 7, 0, 1, 3)
        layout.setColumnStretch(1, 1)

    # ---- what the user chose ------------------------------------------------------------
    @property
    def chosen_class(self) -> int:
        return self.object_class.currentIndex() + 1

    @property
    def object_size(self) -> float | None:
        """The diameter (px) the user set, or None: measure it from the prediction."""
        return self._user_size

    @property
    def joins_slices(self) -> bool:
        """Objects span the slices of the shown Z stack (one id across them)."""
        return self.across_slices_box.isEnabled() and self.across_slices_box.isChecked()

    def export_choice(self) -> PredictionOptions:
        """What an export of objects is asked for: the class, the size (None: measured) and
        whether objects span the slices."""
        return PredictionOptions(object_class=self.chosen_class, object_size=self.object_size,
                                 objects_3d=self.joins_slices)

    def set_slices(self, n_z: int) -> None:
        """The shown image has `n_z` slices: joining them is offered only where there are several."""
        self.across_slices_box.setEnabled(n_z > 1)

    def set_classes(self, names: list[str]) -> None:
        old = self.object_class.currentText()
        self.object_class.blockSignals(True)
        self.object_class.clear()
        self.object_class.addItems(names)
        index = names.index(old) if old in names else object_class(names) - 1
        self.object_class.setCurrentIndex(index)
        self.object_class.blockSignals(False)

    def _size_edited(self, value: float) -> None:
        if value <= 0:
            if not self._showing and self._user_size is not None:
                self.use_measured()
            return
        if not self._showing:
            self._user_size = float(value)
            self.measured_button.setEnabled(True)
            self.size_changed.emit()

    def use_measured(self) -> None:
        self._user_size = None
        self.measured_button.setEnabled(False)
        self.size_changed.emit()

    # ---- what was found -----------------------------------------------------------------
    def show_objects(self, table: dict | None, size: float | None, pixel_size=None, unit: str = "",
                     where: str = "in this plane", uncounted: int = 0, channels: tuple[str, ...] = ()) -> None:
        """The objects of the shown plane, or of its time point's slices joined (`where` says
        which; table None: no prediction for it); `uncounted`: the pieces of the mask as large
        as an object that none holds (shown hatched); `channels`: what the image calls its
        channels (Stack.channel_names), for the intensity columns."""
        self._showing = True
        if size is not None:
            self.size.setValue(size)
        elif table is None and self._user_size is None:
            self.size.setValue(0.0)   # "–": nothing measured on this plane (another image, no model)
        self._showing = False
        self.measured_button.setEnabled(self._user_size is not None)
        unit = "µm" if unit in ("", "um") else unit   # the stack's unit, as people write it
        self.size_um.setText(f"= {size * float(np.mean(pixel_size)):.3g} {unit}"
                             if size is not None and pixel_size is not None else "")
        n = None if table is None else len(table["id"])
        objects = "" if n is None else f"{n} object{'s' if n != 1 else ''}"
        left = f"{uncounted} piece{'s' if uncounted != 1 else ''} of the mask not counted" if uncounted else ""
        self.count.setText("No prediction for this plane yet" if n is None else
                           f"{objects} {where}" + (f"; {left} (hatched)" if left else ""))
        self.count.setToolTip(UNCOUNTED_HINT if left else "")
        self.status_label.setText(objects + (f" ({uncounted} not counted)" if left else ""))
        self.model.set_table(table or {}, channels)
        self._fit_columns()
        sizes = None if table is None else table.get("area_px", table.get("volume_voxels"))
        self._show_histogram(None if sizes is None else np.asarray(sizes, float), "volume_voxels" in (table or {}))

    def _fit_columns(self) -> None:
        """Each column as wide as its header and the widest of its first SIZED_ROWS cells (the
        numbers of one column are alike in width)."""
        header, metrics = self.view.horizontalHeader(), self.view.fontMetrics()
        margin = 2 * (self.view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.view) + 1) + 2
        rows = range(min(SIZED_ROWS, self.model.rowCount()))
        for column in range(self.model.columnCount()):
            cells = (self.model.text(row, column) for row in rows)
            widest = max((metrics.horizontalAdvance(text) for text in cells), default=0)
            header.resizeSection(column, max(widest + margin, header.sectionSizeFromContents(column).width()))

    def _show_histogram(self, areas: np.ndarray | None, volumes: bool = False) -> None:
        """The objects' areas (volumes, for objects joined across slices) as bars."""
        self.histogram.setLabel("bottom", "volume (voxels)" if volumes else "area (px)")
        if areas is None or not len(areas):
            self._bars.setVisible(False)
            return
        counts, edges = np.histogram(areas, bins=min(20, max(1, len(areas))))
        self._bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
        self._bars.setVisible(True)

    def _row_clicked(self, index) -> None:
        row = index.row()
        self.object_clicked.emit({c: self.model.table[c][self.model.order[row]] for c in self.model.table})
