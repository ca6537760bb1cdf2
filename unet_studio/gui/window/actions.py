"""The menus and keyboard shortcuts of the main window, as two tables: the commands (text,
shortcut, tip) and the menus that list them. What each command does is given by the main window.

Every command is a QAction with its shortcut, so the menu shows the key next to the command and
the same action works from the keyboard and the menu.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from unet_studio.workflow.export import KINDS, MASK, WRITERS

Open = QKeySequence.StandardKey.Open
Save = QKeySequence.StandardKey.Save
Quit = QKeySequence.StandardKey.Quit

# The File > Export items of predictions, one per kind of workflow/export.py, in its order.
EXPORT_COMMANDS = [f"export_{what}" for what in KINDS]

# name: (menu text, shortcut or shortcuts, status tip). The main window gives each name its slot.
COMMANDS: dict[str, tuple] = {
    "open": ("&Open image…", Open, "Open an image on its own; its labels are kept in a folder beside it"),
    "open_zarr": ("Open OME-&Zarr image…", None, "An OME-Zarr folder (.ome.zarr), read plane by plane"),
    "sample": ("Open the &sample image", None, ""),
    "new_project": ("&New project…", "Ctrl+Shift+N",
                    "A folder that keeps several images, their labels and models together"),
    "open_project": ("Open p&roject…", "Ctrl+Shift+O", ""),
    "save_as": ("Save project &as…", "Ctrl+Shift+S",
                "Copy the project (labels, models, log) to a new folder and go on there"),
    "add_images": ("Add &images to the project…", "Ctrl+Shift+I", ""),
    "save_now": ("&Save now", Save, "Labels are saved a second after each stroke; this writes them at once"),
    **{f"export_{what}": (f"Export {writer.title}…", "Ctrl+E" if what == MASK else None, writer.tip)
       for what, writer in WRITERS.items()},
    "export_labels": ("Export &labels (your strokes)…", None, ""),
    "export_model": ("Export m&odel…", None, ""),
    "export_bundle": ("Export reproducibility &bundle…", None,
                      "One zip with the labels, settings, training log and current model"),
    "quit": ("&Quit", Quit, ""),
    "undo": ("&Undo", "Ctrl+Z", ""),
    "redo": ("&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], ""),
    "brush": ("&Brush", "B", ""),
    "eraser": ("&Eraser", "E", ""),
    "fill": ("&Fill", "F", ""),
    "bigger": ("Bigger brush", "]", ""),
    "smaller": ("Smaller brush", "[", ""),
    **{f"class{k}": (f"Class {k}", str(k), "") for k in range(1, 10)},
    "fit": ("&Fit to window", ["Ctrl+0", "Home"], ""),
    "toggle_overlay": ("Show &prediction", "V", ""),
    "next_z": ("Next Z slice", "PgDown", ""),
    "previous_z": ("Previous Z slice", "PgUp", ""),
    "next_t": ("Next time point", "Ctrl+PgDown", ""),
    "previous_t": ("Previous time point", "Ctrl+PgUp", ""),
    "train": ("&Train / Stop", "Ctrl+T", ""),
    "predict_all": ("&Predict all planes", "Ctrl+Shift+P", ""),
    "predict_images": ("Predict all &images of the project…", None,
                       "Save the masks of every image of the project in a folder"),
    "new_model": ("Start a &new model", None,
                  "The next training starts afresh from the built-in starting model"),
    "start_from_file": ("Start from a model &file…", None,
                        "A unet_studio model (.pt) or a bioimage.io package made by unet_studio (.zip): "
                        "kept in the Models list and trained further on your strokes"),
    "export_bioimageio": ("Export for &bioimage.io…", None,
                          "The current model as a bioimage.io package for ilastik, deepImageJ, "
                          "Fiji and napari"),
    "model_view": ("&Network summary…", "Ctrl+M", ""),
    "keys": ("&Keyboard shortcuts", "F1", ""),
}

# The menu bar: menus, their commands in order (None: a separator; (title, names): a sub-menu).
MENUS: list[tuple[str, list]] = [
    ("&File", ["open", "open_zarr", "sample", None, "new_project", "open_project", "save_as", "add_images",
               "save_now", None, *EXPORT_COMMANDS, "export_labels", "export_model",
               "export_bundle", None, "quit"]),
    ("&Edit", ["undo", "redo", None, "brush", "eraser", "fill", "bigger", "smaller",
               ("Paint &class", [f"class{k}" for k in range(1, 10)])]),
    ("&View", ["fit", "toggle_overlay", "next_z", "previous_z", "next_t", "previous_t"]),
    ("&Model", ["train", "predict_all", "predict_images", None, "new_model", "start_from_file",
                "export_bioimageio", None, "model_view"]),
    ("&Help", ["keys"]),
]


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


def _fill(menu, names: list, actions: dict[str, QAction]) -> None:
    for name in names:
        if name is None:
            menu.addSeparator()
        elif isinstance(name, tuple):
            _fill(menu.addMenu(name[0]), name[1], actions)
        else:
            menu.addAction(actions[name])


def build_menus(window, slots: dict) -> dict[str, QAction]:
    """Create the menu bar of `window` with a QAction per command of COMMANDS, each calling
    `slots[name]()`; returns the actions by name."""
    actions = {name: _action(window, text, slots[name], shortcut, tip)
               for name, (text, shortcut, tip) in COMMANDS.items()}
    bar = window.menuBar()
    for title, names in MENUS:
        _fill(bar.addMenu(title), names, actions)
    return actions


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
