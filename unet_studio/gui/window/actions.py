"""The menus and keyboard shortcuts of the main window, in one table-like place.

Every command is a QAction with its shortcut, so the menu shows the key next to the command and
the same action works from the keyboard and the menu.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from unet_studio.gui.viewer.tool_state import BRUSH, ERASER, FILL


def _action(window, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        keys = shortcut if isinstance(shortcut, list) else [shortcut]
        action.setShortcuts([QKeySequence(k) for k in keys])
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)  # shortcuts work even when the menu bar is hidden
    return action


def build_menus(window) -> dict[str, QAction]:
    """Create the menu bar of `window` (a MainWindow); returns the actions by name."""
    a: dict[str, QAction] = {}
    bar = window.menuBar()
    exporter = window.exporter

    file_menu = bar.addMenu("&File")
    commands, projects = window.project_commands, window.projects
    a["open"] = _action(window, "&Open image…", window.open_dialog, QKeySequence.StandardKey.Open,
                        "Open an image on its own; its labels are kept in a folder beside it")
    a["sample"] = _action(window, "Open the &sample image", window.open_sample)
    a["new_project"] = _action(window, "&New project…", commands.new_project, "Ctrl+Shift+N",
                               "A folder that keeps several images, their labels and models together")
    a["open_project"] = _action(window, "Open p&roject…", commands.open_project, "Ctrl+Shift+O")
    a["save_as"] = _action(window, "Save project &as…", commands.save_as, "Ctrl+Shift+S",
                           "Copy the project (labels, models, log) to a new folder and go on there")
    a["add_images"] = _action(window, "Add &images to the project…", lambda: projects.add_images(),
                              "Ctrl+Shift+I")
    a["save_now"] = _action(window, "&Save now", window.save_now, QKeySequence.StandardKey.Save,
                            "Labels are saved a second after each stroke; this writes them at once")
    for name in ("open", "sample", None, "new_project", "open_project", "save_as", "add_images",
                 "save_now", None):
        if name is None:
            file_menu.addSeparator()
        else:
            file_menu.addAction(a[name])
    a["export_masks"] = _action(window, "Export &masks…", exporter.masks, "Ctrl+E",
                                "Predict every plane and save the masks as a TIFF for Fiji/napari")
    a["export_probabilities"] = _action(window, "Export &probabilities…", exporter.probabilities)
    a["export_instances"] = _action(window, "Export &instance labels…", exporter.instances,
                                    tip="One number per object (touching objects split)")
    a["export_labels"] = _action(window, "Export &labels (your strokes)…", exporter.labels)
    a["export_model"] = _action(window, "Export m&odel…", exporter.model)
    a["export_bundle"] = _action(window, "Export reproducibility &bundle…", commands.export_bundle,
                                 tip="One zip with the labels, settings, training log and current model")
    for name in ("export_masks", "export_probabilities", "export_instances", "export_labels",
                 "export_model", "export_bundle"):
        file_menu.addAction(a[name])
    file_menu.addSeparator()
    a["quit"] = _action(window, "&Quit", window.close, QKeySequence.StandardKey.Quit)
    file_menu.addAction(a["quit"])

    edit_menu = bar.addMenu("&Edit")
    a["undo"] = _action(window, "&Undo", window.undo, "Ctrl+Z")
    a["redo"] = _action(window, "&Redo", window.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
    edit_menu.addAction(a["undo"])
    edit_menu.addAction(a["redo"])
    edit_menu.addSeparator()
    tools = window.tools
    for name, text, key, tool in (("brush", "&Brush", "B", BRUSH), ("eraser", "&Eraser", "E", ERASER),
                                  ("fill", "&Fill", "F", FILL)):
        a[name] = _action(window, text, lambda t=tool: tools.set_tool(t), key)
        edit_menu.addAction(a[name])
    a["bigger"] = _action(window, "Bigger brush", tools.grow_brush, "]")
    a["smaller"] = _action(window, "Smaller brush", tools.shrink_brush, "[")
    edit_menu.addAction(a["bigger"])
    edit_menu.addAction(a["smaller"])
    classes_menu = edit_menu.addMenu("Paint &class")
    for k in range(1, 10):
        a[f"class{k}"] = _action(window, f"Class {k}", lambda k=k: window.classes_panel.select(k), str(k))
        classes_menu.addAction(a[f"class{k}"])

    view_menu = bar.addMenu("&View")
    a["fit"] = _action(window, "&Fit to window", window.canvas.fit, ["Ctrl+0", "Home"])
    a["toggle_overlay"] = _action(window, "Show &prediction", window.overlay_panel.toggle, "V")
    a["next_z"] = _action(window, "Next Z slice", lambda: window.step_plane(0, 1), "PgDown")
    a["previous_z"] = _action(window, "Previous Z slice", lambda: window.step_plane(0, -1), "PgUp")
    a["next_t"] = _action(window, "Next time point", lambda: window.step_plane(1, 0), "Ctrl+PgDown")
    a["previous_t"] = _action(window, "Previous time point", lambda: window.step_plane(-1, 0), "Ctrl+PgUp")
    for name in ("fit", "toggle_overlay", "next_z", "previous_z", "next_t", "previous_t"):
        view_menu.addAction(a[name])

    model_menu = bar.addMenu("&Model")
    a["train"] = _action(window, "&Train / Stop", window.training.toggle, "Ctrl+T")
    a["predict_all"] = _action(window, "&Predict all planes", window.stack_jobs.predict_all, "Ctrl+Shift+P")
    a["predict_images"] = _action(window, "Predict all &images of the project…", commands.predict_all_images,
                                  tip="Save the masks of every image of the project in a folder")
    a["new_model"] = _action(window, "Start a &new model", projects.models.start_new_model,
                             tip="The next training starts afresh from the built-in starting model")
    a["model_view"] = _action(window, "&Network summary…", window.show_model_view, "Ctrl+M")
    for name in ("train", "predict_all", "predict_images", "new_model", "model_view"):
        model_menu.addAction(a[name])

    help_menu = bar.addMenu("&Help")
    a["keys"] = _action(window, "&Keyboard shortcuts", window.show_shortcuts, "F1")
    help_menu.addAction(a["keys"])
    return a


SHORTCUTS_HELP = """<table cellspacing=4>
<tr><td><b>B</b> / <b>E</b> / <b>F</b></td><td>brush / eraser / fill</td></tr>
<tr><td><b>[</b> and <b>]</b></td><td>smaller / bigger brush</td></tr>
<tr><td><b>1</b> … <b>9</b></td><td>paint class 1 … 9</td></tr>
<tr><td><b>Ctrl+Z</b> / <b>Ctrl+Shift+Z</b></td><td>undo / redo</td></tr>
<tr><td><b>Ctrl+T</b></td><td>train / stop training</td></tr>
<tr><td><b>V</b></td><td>show or hide the prediction</td></tr>
<tr><td>wheel / <b>Space</b>+drag, middle drag</td><td>zoom / pan</td></tr>
<tr><td><b>Home</b></td><td>fit the image to the window</td></tr>
<tr><td><b>Page Up/Down</b>, ↑ ↓</td><td>previous / next Z slice</td></tr>
<tr><td><b>Ctrl+Page Up/Down</b>, ← →</td><td>previous / next time point</td></tr>
<tr><td><b>Ctrl+E</b></td><td>export masks</td></tr>
<tr><td><b>Ctrl+S</b></td><td>save now (labels are also saved a second after each stroke)</td></tr>
</table>"""
