"""Sizes a TIFF declares, checked against the bytes it holds before anything is allocated.

A header or metadata of a few bytes can claim an image of any size; reading it as claimed
would reserve gigabytes for a 2 kB file. Real data cannot shrink beyond what its compression
allows, so a declared size far above what the stored bytes can hold means a damaged or forged
file, found before decoding.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np

BIG = 256 * 2**20          # below this, any claim is cheap enough to simply try
MOST_SHRINK = 1000         # microscopy data never compresses a thousandfold at that size
_OME_AXES = ("X", "Y", "Z", "C", "T")
_OME_BYTES = {"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
              "float": 4, "double": 8, "complex": 8, "double-complex": 16, "bit": 1}


def implausible(decoded_bytes: int, stored_bytes: int) -> bool:
    """True when `decoded_bytes` cannot come out of `stored_bytes` of (compressed) data."""
    return decoded_bytes > BIG and decoded_bytes > MOST_SHRINK * max(stored_bytes, 1)


def ome_claim(xml: str | None, file_size: int) -> str | None:
    """A sentence on the first OME image whose declared size the file cannot hold, else None.

    Checked before tifffile builds its series, which reserves room for every declared plane."""
    if not xml or "Pixels" not in xml:
        return None
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None  # unreadable metadata: tifffile falls back to the pages themselves
    for pixels in root.iter():
        if not (pixels.tag.endswith("}Pixels") or pixels.tag == "Pixels"):
            continue
        try:
            sizes = [int(pixels.get(f"Size{axis}", "1")) for axis in _OME_AXES]
        except ValueError:
            return "its OME metadata gives an image size that is not a number"
        if min(sizes) < 1:
            return "its OME metadata gives an image size below 1"
        item = _OME_BYTES.get(str(pixels.get("Type", "uint8")).lower(), 1)
        declared = math.prod(sizes) * item
        if implausible(declared, file_size):
            shape = " x ".join(f"{a}={n}" for a, n in zip(_OME_AXES, sizes))
            return (f"its OME metadata declares {shape} ({declared / 1e9:,.1f} GB), more than "
                    f"its {file_size:,} bytes can hold")
    return None


def page_has_data(page) -> bool:
    """False when a TIFF page (or frame) lists no bytes at all for its image."""
    if page is None:
        return False
    counts = getattr(page, "databytecounts", None)
    return counts is None or any(int(n) > 0 for n in counts)


def data_beyond_end(page, file_size: int) -> bool:
    """True when a page lists data past the end of the file (reading it would reserve room
    for bytes that are not there)."""
    offsets = np.asarray(page.dataoffsets, dtype=np.int64)
    counts = np.asarray(page.databytecounts, dtype=np.int64)
    return bool(len(counts)) and bool(np.any((counts > 0) & (offsets + counts > file_size)))


def stored_bytes(page) -> int:
    return int(np.sum(np.asarray(page.databytecounts, dtype=np.int64)))
