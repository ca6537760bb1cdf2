"""The objects table's columns: as wide as their header and their widest numbers, measured by
the panel on each new table (not by the header asking the model for every cell)."""
from __future__ import annotations

import numpy as np


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
