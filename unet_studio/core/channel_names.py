"""What a file calls its channels ("DAPI", "GFP"), for the channel list and the objects table.

Names are kept only when the file names every channel the image has and no two alike (an RGB
OME-TIFF declares one channel for three samples: no names); each is cut to printable text of
at most MAX_LENGTH characters. Where a file names none, the program numbers them (Stack.channel_names
is then empty)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Iterable

MAX_LENGTH = 40


def named_channels(names: Iterable[Any], n_c: int) -> tuple[str, ...]:
    """`names` as the image's channel names, or () where they do not name its `n_c` channels."""
    clean = tuple(" ".join("".join(ch for ch in str(n) if ch.isprintable()).split())[:MAX_LENGTH]
                  for n in names if n is not None)
    if len(clean) != n_c or n_c < 2 or not all(clean) or len(set(clean)) != n_c:
        return ()
    return clean


def ome_channel_names(pixels: ET.Element, n_c: int) -> tuple[str, ...]:
    """The Name of each Channel of an OME-XML Pixels element."""
    channels = [el for el in pixels if el.tag.endswith("}Channel") or el.tag == "Channel"]
    return named_channels([el.get("Name") for el in channels], n_c)


def czi_channel_names(metadata: dict, n_c: int) -> tuple[str, ...]:
    """The @Name of each channel of a CZI's metadata (pylibCZIrw's `metadata`)."""
    try:
        channels = metadata["ImageDocument"]["Metadata"]["Information"]["Image"]["Dimensions"]["Channels"]["Channel"]
    except (KeyError, TypeError):
        return ()
    channels = channels if isinstance(channels, list) else [channels]
    return named_channels([c.get("@Name") if isinstance(c, dict) else None for c in channels], n_c)


def zarr_channel_names(attrs: dict, n_c: int) -> tuple[str, ...]:
    """The label of each channel of an OME-Zarr image's "omero" metadata."""
    if not isinstance(attrs, dict):
        return ()
    ome = attrs.get("ome")   # OME-Zarr 0.5 keeps it under "ome"
    omero = attrs.get("omero") or (ome.get("omero") if isinstance(ome, dict) else None)
    channels = omero.get("channels") if isinstance(omero, dict) else None
    if not isinstance(channels, list):
        return ()
    return named_channels([c.get("label") if isinstance(c, dict) else None for c in channels], n_c)
