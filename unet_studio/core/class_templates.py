"""Names for the classes by what is segmented: a user picks "Nuclei" at the first stroke and
the classes read "background / nucleus" instead of "background / foreground".

The first class is what surrounds the objects (the exported masks hold it as 0), the second
the objects (what the Objects panel counts), a third the borders between touching objects
where the template has one. In an EM image of membranes the objects are the cells the
membranes enclose: the first class, "cell interior", is what the Objects panel counts, and the
membranes are the borders between them. Applying a template renames the classes it names and
adds the ones missing; classes beyond it stay, with their strokes.
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


# A class of one of these names marks the borders between touching objects: the objects are
# the pieces it encloses, and they grow into its pixels (ml/objects.py). The membranes of an EM
# image are such borders between cells.
BORDER_NAMES = ("border", "borders", "boundary", "boundaries", "membrane", "membranes")


def border_class(names: list[str]) -> int | None:
    """The class (1-based) that marks borders between touching objects, by its name ("membrane",
    "cell membrane", "nucleus border"), or None."""
    for k, name in enumerate(names, start=1):
        words = str(name).strip().lower().split()
        if words and words[-1] in BORDER_NAMES:
            return k
    return None


# Names of classes whose objects are counted (the Objects panel's and `predict --instances`' default).
OBJECT_WORDS = ("nucleus", "nuclei", "cell", "object", "foreground", "mitochondri", "organelle")


def object_class(names: list[str]) -> int:
    """The class (1-based) whose objects are counted unless the user picks another: the first
    after class 1 named like an object (nucleus, cell, ...); else class 1 where it is named like
    one and a border class encloses its pieces (cell interior and membrane); else the last that
    is not a border class (class 1 being what surrounds the objects)."""
    def named_like_objects(name: str) -> bool:
        return any(word in str(name).lower() for word in OBJECT_WORDS)

    border = border_class(names)
    for k, name in enumerate(names, start=1):
        if k > 1 and k != border and named_like_objects(name):
            return k
    if names and named_like_objects(names[0]) and border not in (None, 1):
        return 1
    others = [k for k in range(2, len(names) + 1) if k != border]
    return others[-1] if others else max(len(names), 1)


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
