"""Label classes: a name and a display colour for each label value 1..K.

Value 0 is "unlabeled" and has no class. `LabelClass` is immutable so the undo history can
keep references to old classes without copying them.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

from unet_studio.core.errors import LabelsError

MAX_CLASSES = 254  # uint8 labels: 0 is unlabeled and 255 is kept free


@dataclass(frozen=True)
class LabelClass:
    """One class a user paints: `name` shown in the GUI, `color` as (r, g, b) 0..255."""

    name: str
    color: tuple[int, int, int]


# Background is a muted grey-blue so it reads as "the rest"; foreground a saturated
# yellow-orange that stands out on grey microscopy images.
DEFAULT_CLASSES = [
    LabelClass("background", (96, 128, 176)),
    LabelClass("foreground", (255, 184, 0)),
]

# Colours for classes added later, chosen to be distinct from each other and from the
# defaults (roughly the Kelly / Tableau palettes).
PALETTE = [
    (230, 57, 70),
    (46, 184, 92),
    (199, 84, 230),
    (64, 200, 224),
    (245, 130, 48),
    (150, 90, 40),
    (240, 110, 190),
    (170, 220, 50),
    (30, 120, 130),
    (130, 40, 60),
    (140, 140, 255),
    (255, 240, 150),
]


def pick_color(used: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """A colour not in `used`: the palette first, then evenly spread hues."""
    taken = {tuple(c) for c in used}
    for color in PALETTE:
        if color not in taken:
            return color
    # Golden-ratio hue steps keep successive colours far apart on the colour wheel.
    i = len(taken)
    while True:
        h = (i * 0.618033988749895) % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, 0.75, 0.95)
        color = (int(r * 255), int(g * 255), int(b * 255))
        if color not in taken:
            return color
        i += 1


def check_name(name: object) -> str:
    """The class name stripped; LabelsError if it is not a non-empty string."""
    if not isinstance(name, str) or not name.strip():
        raise LabelsError("a class name must be a non-empty text")
    return name.strip()


def check_color(color: object) -> tuple[int, int, int]:
    """`color` as an (r, g, b) tuple of ints 0..255; LabelsError otherwise."""
    try:
        rgb = tuple(int(c) for c in color)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise LabelsError(f"a class colour must be three numbers 0-255, not {color!r}") from None
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise LabelsError(f"a class colour must be three numbers 0-255, not {color!r}")
    return rgb  # type: ignore[return-value]


def classes_to_json(classes: list[LabelClass]) -> list[dict]:
    """Plain JSON-able form: [{"name": ..., "color": [r, g, b]}, ...]."""
    return [{"name": c.name, "color": list(c.color)} for c in classes]


def classes_from_json(items: object) -> list[LabelClass]:
    """Inverse of classes_to_json; LabelsError when the structure is wrong."""
    if not isinstance(items, list) or not items or len(items) > MAX_CLASSES:
        raise LabelsError("the class list is missing or has the wrong length")
    classes = []
    for item in items:
        if not isinstance(item, dict):
            raise LabelsError("a class entry is not a name and a colour")
        classes.append(LabelClass(check_name(item.get("name")), check_color(item.get("color"))))
    return classes


def generic_classes(n: int) -> list[LabelClass]:
    """`n` classes for labels that came without names: the defaults, then "class k"."""
    classes = list(DEFAULT_CLASSES[:n])
    while len(classes) < n:
        classes.append(LabelClass(f"class {len(classes) + 1}", pick_color([c.color for c in classes])))
    return classes

