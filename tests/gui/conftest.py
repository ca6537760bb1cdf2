"""GUI test fixtures: a main window with private settings, dialogs recorded instead of shown."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from unet_studio.gui.app import configure_pyqtgraph
from unet_studio.gui.garbage import collect_garbage_in_gui_thread
from unet_studio.gui.window.main_window import MainWindow


class DialogRecorder(list):
    """Every message box the app tried to show, as (kind, title, text); never blocks."""

    answer_yes = True

    def questions(self) -> list:
        return [d for d in self if d[0] == "question"]

    def errors(self) -> list:
        return [d for d in self if d[0] == "critical"]


@pytest.fixture(scope="session", autouse=True)
def garbage_collected_in_the_gui_thread(qapp):
    """As in the app (gui/garbage.py): windows of earlier tests must never be collected by a
    training worker's thread."""
    collector = collect_garbage_in_gui_thread(qapp)
    yield collector
    collector.stop()


@pytest.fixture
def dialogs(monkeypatch) -> DialogRecorder:
    record = DialogRecorder()

    def fake(kind):
        def show(parent, title, text, *args, **kwargs):
            record.append((kind, title, text))
            if kind == "question":
                return QMessageBox.StandardButton.Yes if record.answer_yes else QMessageBox.StandardButton.No
            return QMessageBox.StandardButton.Ok
        return staticmethod(show)

    for kind in ("critical", "question", "information", "warning"):
        monkeypatch.setattr(QMessageBox, kind, fake(kind))
    return record


@pytest.fixture
def make_window(qtbot, tmp_path, dialogs, monkeypatch):
    """Makes main windows sharing one settings file (a second window = the app restarted)."""
    # Projects of images whose folder is not used (the bundled sample) go to the per-user
    # data folder: keep that inside the test's own folder.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    configure_pyqtgraph()
    made = []

    def make() -> MainWindow:
        w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(w)
        w.resize(1100, 700)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.pool.stop_all(10_000)
        w.session.close()
    # Deliver what the stopped workers queued while dialogs are still recorded, not shown.
    for _ in range(3):
        QApplication.processEvents()


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()
