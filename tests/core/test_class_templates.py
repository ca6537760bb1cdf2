"""Class names by what is segmented, and the border class found by its name."""
from unet_studio.core.class_templates import TEMPLATES, border_class, object_class


def test_the_border_class_is_found_by_its_name():
    assert border_class(TEMPLATES["Touching cells, with their borders"]) == 3
    assert border_class(["background", "cell", " Boundary "]) == 3
    assert border_class(["background", "nucleus"]) is None
    assert border_class(TEMPLATES["Membranes (EM)"]) == 2    # membranes are the borders between cells
    assert border_class(["cell interior", "cell membrane"]) == 2   # renamed as people do
    assert border_class(["background", "nucleus", "nucleus border"]) == 3
    assert border_class(["background", "membrane potential"]) is None


def test_a_border_class_named_after_the_cells_is_not_what_is_counted():
    assert object_class(["cell interior", "cell membrane"]) == 1
    assert object_class(["background", "cell", "cell boundary"]) == 2


def test_the_counted_class_prefers_object_names_and_skips_borders():
    assert object_class(["background", "nucleus", "boundary"]) == 2
    assert object_class(["background", "membrane", "Cells"]) == 3
    assert object_class(["background", "a", "b"]) == 3
    assert object_class(["background", "a", "border"]) == 2
    assert object_class(TEMPLATES["Touching cells, with their borders"]) == 2
    assert object_class(TEMPLATES["Mitochondria (EM)"]) == 2
    assert object_class(["background"]) == 1


def test_the_cells_between_em_membranes_are_counted():
    assert object_class(TEMPLATES["Membranes (EM)"]) == 1
    assert object_class(["cell", "boundary"]) == 1
    assert object_class(["Cell interior", "membrane", "mitochondrion"]) == 3   # an object class after it
    assert object_class(["background", "membrane"]) == 2    # class 1 is not named like objects
