"""The objects table's columns: as wide as their header and their widest numbers, measured by
the panel on each new table (not by the header asking the model for every cell)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt


def test_each_column_is_as_wide_as_its_header_and_its_widest_number(qtbot):
    """The panel sizes the columns itself on each new table: every cell of the first rows and
    the header fit, and a column that gets wider numbers grows with them."""
    from unet_studio.gui.panels.objects_panel import SIZED_ROWS, ObjectsPanel

    panel = ObjectsPanel()
    qtbot.addWidget(panel)
    n = 3 * SIZED_ROWS
    areas = np.full(n, 20)
    areas[SIZED_ROWS // 2] = 123456789012345   # one wide number among the first rows
    panel.show_objects({"id": np.arange(1, n + 1), "area_px": areas, "confidence": np.full(n, 0.5)}, 10.0)
    header, metrics = panel.view.horizontalHeader(), panel.view.fontMetrics()
    model = panel.model
    for column in range(model.columnCount()):
        widest = max(metrics.horizontalAdvance(model.text(row, column)) for row in range(SIZED_ROWS))
        assert header.sectionSize(column) >= widest + 4
        assert header.sectionSize(column) >= header.sectionSizeFromContents(column).width()
    area = model.columns.index("area_px")
    assert header.sectionSize(area) >= metrics.horizontalAdvance("123456789012345") + 4
    panel.show_objects({"id": np.arange(1, 4), "area_px": np.array([1, 2, 3]), "confidence": np.full(3, 0.5)}, 10.0)
    assert header.sectionSize(area) < metrics.horizontalAdvance("123456789012345")   # narrower numbers: narrower


def test_intensity_columns_carry_the_names_the_file_gives_its_channels(qtbot):
    from unet_studio.gui.panels.objects_panel import ObjectsPanel

    panel = ObjectsPanel()
    qtbot.addWidget(panel)
    table = {"id": np.arange(1, 3), "area_px": np.array([5, 6]), "mean_intensity_c1": np.array([1.0, 2.0]),
             "mean_intensity_c2": np.array([3.0, 4.0])}
    headers = lambda: [panel.model.headerData(c, Qt.Orientation.Horizontal) for c in range(panel.model.columnCount())]  # noqa: E731
    panel.show_objects(table, 10.0, channels=("DAPI", "GFP"))
    assert headers() == ["id", "area px", "mean DAPI", "mean GFP"]
    panel.show_objects(table, 10.0)
    assert headers() == ["id", "area px", "mean c1", "mean c2"]


def test_no_prediction_shows_no_size_left_from_another_image(qtbot):
    from unet_studio.gui.panels.objects_panel import ObjectsPanel

    panel = ObjectsPanel()
    qtbot.addWidget(panel)
    panel.show_objects({"id": np.arange(1, 3), "area_px": np.array([5, 6])}, 31.2)
    assert panel.size.text() == "31.2 px"
    panel.show_objects(None, None)   # another image, nothing predicted on it yet
    assert panel.size.text() == "–" and panel.object_size is None
