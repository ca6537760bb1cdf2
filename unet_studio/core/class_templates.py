"""Names for the classes by what is segmented: a user picks "Nuclei" at the first stroke and
the classes read "background / nucleus" instead of "background / foreground".

The first class is what surrounds the objects (the exported masks hold it as 0), the second
the objects (what the Objects panel counts), a third the borders between touching objects
where the template has one. Applying a template renames the classes it names and adds the
ones missing; classes beyond it stay, with their strokes.
"""
from __future__ import annotations

from unet_studio.core.label_classes import DEFAULT_CLASSES

TEMPLATES: dict[str, list[str]] = {
    "Nuclei": ["background", "nucleus"],
    "Cells": ["background", "cell"],
    "Touching cells, with their borders": ["background", "cell", "border"],
    "Membranes (EM)": ["cell interior", "membrane"],
    "Mitochondria (EM)": ["background", "mitochondrion"],
    "Organelles or spots": ["background", "organelle"],
    "Tissue regions": ["background", "tissue"],
}


def has_default_names(names: list[str]) -> bool:
    """The classes still carry the names nobody chose (background / foreground)."""
    return names == [c.name for c in DEFAULT_CLASSES]


def apply_template(editor, current: list[str], template: str) -> None:
    """Rename and add classes through `editor` (a Project, so every image follows, or a
    single image's class editor): `current` are today's names."""
    names = TEMPLATES[template]
    for k, name in enumerate(names, start=1):
        if k <= len(current):
            if current[k - 1] != name:
                editor.rename_class(k, name)
        else:
            editor.add_class(name)
