"""The status-bar text for the pixel under the mouse: position, value, label and prediction."""
from __future__ import annotations


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def describe_pixel(document, y: int, x: int) -> str:
    """E.g. "x 120  y 45  value 1023  label foreground  predicted foreground 93%"."""
    values = document.value_at(y, x)
    if values is None:
        return ""
    parts = [f"x {x}", f"y {y}"]
    if document.stack.n_z > 1:
        parts.append(f"z {document.z}")
    if document.stack.n_t > 1:
        parts.append(f"t {document.t}")
    shown = values[0] if len(values) == 1 else "(" + ", ".join(_number(v) for v in values) + ")"
    parts.append(f"value {_number(shown)}")
    classes = document.labels.classes
    label = int(document.labels.plane_view(document.t, document.z)[y, x])
    if label:
        parts.append(f"label {classes[label - 1].name}")
    mask = document.predictions.mask(document.t, document.z)
    if mask is not None and mask[y, x]:
        k = int(mask[y, x])
        name = classes[k - 1].name if k <= len(classes) else f"class {k}"
        probability = document.predictions.probability(document.t, document.z, k)
        confidence = f" {probability[y, x]:.0%}" if probability is not None else ""
        parts.append(f"predicted {name}{confidence}")
    return "   ".join(parts)
