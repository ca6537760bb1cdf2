"""Lengths of a calibration: the units readers give Stack.unit ("um", "nm", ...) and their size
in micrometres, the one unit of the objects table's areas and volumes (area_um2, volume_um3)."""
from __future__ import annotations

MICROMETRES = {"nm": 1e-3, "um": 1.0, "mm": 1e3, "cm": 1e4, "m": 1e6, "A": 1e-4}


def in_micrometres(value: float | None, unit: str) -> float | None:
    """`value` (a length in `unit`) in µm; None where either is unknown."""
    if value is None or unit not in MICROMETRES:
        return None
    return float(f"{float(value) * MICROMETRES[unit]:.12g}")   # 250 nm -> 0.25, not 0.25000000000000006
