"""Lazy plane reading and metadata for TIFF files (plain, ImageJ, OME, BigTIFF, RGB).

Only one (t, z) plane is read at a time: uncompressed contiguous data is memory-mapped (the
operating system then reads just the bytes of that plane), anything else is read page by page
(a TIFF page holds one YX image, so a plane costs the pages of its channels only).
Problems found here raise StackError; anything unexpected is left to the caller
(core.stack), which turns it into StackError.
"""
from __future__ import annotations

import logging
import math
import re
import threading
import xml.etree.ElementTree as ET
from itertools import product
from pathlib import Path

import numpy as np
import tifffile

from unet_studio.core.channel_names import ome_channel_names
from unet_studio.core.errors import StackError
from unet_studio.core.stack_axes import AxisMap, map_axes
from unet_studio.core.units import in_micrometres
from unet_studio.core.tiff_sizes import (
    data_beyond_end,
    implausible,
    ome_claim,
    page_has_data,
    stored_bytes,
)

# tifffile reports odd files through `logging`; without a handler Python prints those
# warnings on stderr, which would break the CLI's one-line errors. Applications that
# configure logging still receive them.
logging.getLogger("tifffile").addHandler(logging.NullHandler())

_UNIT_NAMES = {
    "micron": "um", "microns": "um", "um": "um", "µm": "um", "\u00b5m": "um", "\\u00B5m": "um",
    "micrometer": "um", "nm": "nm", "nanometer": "nm", "mm": "mm", "millimeter": "mm",
    "cm": "cm", "m": "m", "meter": "m",
}


def scenes_of(tif: tifffile.TiffFile) -> int:
    """The scenes of an open TIFF: the images of an OME-TIFF (positions of one experiment);
    other files' further series are thumbnails, labels, slide overviews, so 1."""
    return len(tif.series) if tif.is_ome else 1


def tiff_scenes(path: Path) -> int:
    """scenes_of the TIFF at `path`, from its first page (no walk over every page); the OME
    sizes it declares checked first, as on opening (tifffile's series reserve room for them)."""
    with tifffile.TiffFile(path) as tif:
        first = tif.pages.first
        claim = ome_claim(first.description, path.stat().st_size) if first.is_ome else None
        if claim:
            raise StackError(f"{path}: file is damaged ({claim})")
        return scenes_of(tif)


class TiffPlanes:
    """Reads (C, Y, X) planes of one image series of an open TIFF file: the first, or of an
    OME-TIFF of several images (positions), `series` (`scenes` says how many)."""

    def __init__(self, path: Path, series: int = 0):
        with _TiffProblems() as problems:
            self._tif = tifffile.TiffFile(path)
            try:
                self._open_series(path, series)
            except BaseException:
                self._tif.close()
                raise
        self.problems = problems.messages
        if problems.damaged:
            self._tif.close()
            raise StackError(f"{path}: file is truncated or damaged ({problems.damaged[0]})")

    def _open_series(self, path: Path, series: int) -> None:
        self._path = path
        self._size = path.stat().st_size
        first = self._tif.pages.first
        claim = ome_claim(first.description, self._size) if first.is_ome else None
        if claim:
            raise StackError(f"{path}: file is damaged ({claim})")
        # Walking the whole page chain (offsets only, fast) finds a cut-off file even when
        # the first pages and the image description look fine.
        len(self._tif.pages)
        self.series_count = len(self._tif.series)
        self.scenes = scenes_of(self._tif)
        if not 0 <= series < self.scenes:
            raise StackError(f"{path}: holds {self.scenes} scene(s), not scene {series + 1}")
        self.series_index = series
        self._series = self._tif.series[series]
        self.kind = self._series.kind
        self.source_axes = self._series.get_axes(False)
        self.source_shape = tuple(int(n) for n in self._series.get_shape(False))
        self.source_dtype = np.dtype(self._series.dtype)
        self.compressed = self._series.keyframe.compression != 1
        self._check_length(path)
        self._mapping = self._mapping_of(path)
        self._page_split = None if self._mapping is not None else self._split_pages()
        self._chunk_array, self._chunks_opened = None, False   # _chunks(): on the first region read
        self._lock = threading.Lock()

    def axis_map(self) -> AxisMap:
        trusted = self.kind in ("imagej", "ome", "shaped") or "I" not in self.source_axes
        return map_axes(self.source_axes, self.source_shape, trusted=trusted)

    def read_plane(self, amap: AxisMap, t: int, z: int) -> np.ndarray:
        """(C, Y, X) native-byte-order copy of plane (t, z)."""
        index = amap.plane_index(t, z)
        if self._mapping is not None:
            block = np.array(self._mapped()[index])
        else:
            block = self._read_pages(index)
        return _native(amap.to_plane(block))

    def read_region(self, amap: AxisMap, t: int, z: int, rows: slice, cols: slice) -> np.ndarray:
        """(C, h, w) native-byte-order copy of `rows` x `cols` of plane (t, z): through the
        mapping, or the series' chunks (tiles or strips) through zarr when it is installed;
        else the plane's pages are read and cut."""
        index = amap.region_index(t, z, rows, cols)
        if self._mapping is not None:
            return _native(amap.to_region(np.array(self._mapped()[index])))
        chunks = self._chunks()
        if chunks is None:
            return np.ascontiguousarray(self.read_plane(amap, t, z)[:, rows, cols])
        with self._lock:
            self._check_pages(index)
            block = np.asarray(chunks[index])
        return _native(amap.to_region(block))

    def read_all(self, amap: AxisMap) -> np.ndarray:
        """The whole series in canonical order."""
        if self._mapping is not None:
            data = np.array(self._mapped())
        else:
            with self._lock:
                data = self._series.asarray()
        return _native(amap.to_canonical(data))

    def metadata(self) -> tuple[tuple[float, float] | None, float | None, str]:
        """(pixel_size (y, x), z_spacing, unit) from ImageJ, OME or resolution tags."""
        try:
            if self._tif.is_ome and self._tif.ome_metadata:
                return _ome_metadata(self._tif.ome_metadata, self.series_index)
            return _imagej_or_tag_metadata(self._tif.imagej_metadata,
                                           self._series.keyframe)
        except (ValueError, TypeError, KeyError, ZeroDivisionError, ET.ParseError):
            # Odd metadata must not stop the pixels from opening.
            return None, None, ""

    def channel_names(self, n_c: int) -> tuple[str, ...]:
        """What an OME-TIFF calls its `n_c` channels (core/channel_names.py); () where it names none."""
        if not (self._tif.is_ome and self._tif.ome_metadata):
            return ()
        try:
            pixels = _ome_pixels(self._tif.ome_metadata, self.series_index)
        except ET.ParseError:
            return ()
        return () if pixels is None else ome_channel_names(pixels, n_c)

    def close(self) -> None:
        self._mapping = self._chunk_array = None
        self._tif.close()

    # -- internals ---------------------------------------------------------------

    def _check_length(self, path: Path) -> None:
        # Uncompressed data must fit in the file; checking up front turns a cut-off
        # download into a clear message instead of planes of zeros.
        size = path.stat().st_size
        if self.compressed:
            # A damaged header can claim a gigantic image; real compressed microscopy
            # planes do not shrink a thousandfold once they are that big.
            plane = self._series.keyframe.nbytes
            if implausible(plane, size):
                raise StackError(f"{path}: file is truncated or damaged (a {plane / 1e9:.1f} GB "
                                 f"image cannot fit in {size} bytes of compressed data)")
            return
        offset = self._series.dataoffset
        # Bytes stored, not decoded: 1-bit images hold 8 pixels per byte.
        bits = self._series.keyframe.bitspersample
        nbytes = -(-self._series.nbytes * bits // (8 * self.source_dtype.itemsize))
        if (offset is not None and offset + nbytes > size) or nbytes > size:
            raise StackError(f"{path}: file is truncated (the image needs {nbytes} bytes, "
                             f"the file has {size})")

    def _mapping_of(self, path: Path) -> dict | None:
        """How to map the pixels of a contiguous uncompressed series (None: read by pages)."""
        offset = self._series.dataoffset
        if offset is None or self.source_dtype.kind == "b" or math.prod(self.source_shape) == 0:
            return None
        mapping = {"filename": path, "dtype": self.source_dtype.newbyteorder(self._tif.byteorder),
                   "mode": "r", "offset": offset, "shape": self.source_shape}
        np.memmap(**mapping)   # fails here, at open, if the file cannot be mapped
        return mapping

    def _mapped(self) -> np.memmap:
        """A fresh read-only mapping of the pixels, unmapped once the read copied its part:
        pages read through a mapping kept open would stay in the process's memory, so reading
        a long stack plane by plane would grow by a plane each time."""
        return np.memmap(**self._mapping)

    def _chunks(self):
        """The series as a zarr array read chunk by chunk (None without zarr, or where its
        shape is not the series' own)."""
        if not self._chunks_opened:
            self._chunks_opened = True
            try:
                import zarr

                array = zarr.open(self._series.aszarr(), mode="r")
                if tuple(array.shape) == self.source_shape:
                    self._chunk_array = array
            except Exception:  # noqa: BLE001 - no zarr, or a layout it cannot read: pages
                pass
        return self._chunk_array

    def _check_pages(self, index: tuple) -> None:
        """_check_page for each page a read at `index` touches."""
        k = self._page_split
        lead_shape = self.source_shape[:k]
        choices = [range(n) if isinstance(i, slice) else [i] for i, n in zip(index[:k], lead_shape)]
        for combo in product(*choices):
            self._check_page(int(np.ravel_multi_index(combo, lead_shape)) if k else 0)

    def _split_pages(self) -> int:
        """Number of leading source dimensions that enumerate pages."""
        n_pages = len(self._series.pages)
        page_size = math.prod(self._series.keyframe.shape)
        for k in range(len(self.source_shape) + 1):
            if (math.prod(self.source_shape[:k]) == n_pages
                    and math.prod(self.source_shape[k:]) == page_size):
                return k
        raise ValueError("pages do not match the image shape")

    def _read_pages(self, index: tuple) -> np.ndarray:
        k = self._page_split
        lead_shape = self.source_shape[:k]
        lead_index = index[:k]
        choices = [range(n) if isinstance(i, slice) else [i]
                   for i, n in zip(lead_index, lead_shape)]
        pages = []
        with self._lock:
            for combo in product(*choices):
                number = int(np.ravel_multi_index(combo, lead_shape)) if k else 0
                self._check_page(number)
                page = self._tif.asarray(key=number, series=self._series)
                page = page.reshape(self.source_shape[k:])
                pages.append(page[index[k:]])
        kept_lead = [len(c) for c, i in zip(choices, lead_index) if isinstance(i, slice)]
        return np.stack(pages).reshape(tuple(kept_lead) + pages[0].shape)


    def _check_page(self, number: int) -> None:
        """StackError for a page that lists no data, or less than its size could come from."""
        page = self._series[number]
        if not page_has_data(page):
            raise StackError(f"{self._path}: plane {number + 1} holds no image data "
                             "(the file lists no bytes for it)")
        if data_beyond_end(page, self._size):
            raise StackError(f"{self._path}: file is truncated or damaged (plane {number + 1} "
                             "lists data beyond the end of the file)")
        decoded = math.prod(self._series.keyframe.shape) * self.source_dtype.itemsize
        if implausible(decoded, stored_bytes(page)):
            raise StackError(f"{self._path}: file is truncated or damaged (plane {number + 1} "
                             f"claims {decoded / 1e9:.1f} GB from {stored_bytes(page)} bytes)")


class _TiffProblems(logging.Handler):
    """Collects what tifffile logs while a file is opened (this thread only).

    Broken offsets mean the file was cut off or damaged; other complaints (an unreadable
    tag, odd metadata) still let the pixels open and are only reported.
    """

    _DAMAGE_WORDS = ("offset", "corrupt", "truncat", "circular", "invalid next page")

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []
        self.damaged: list[str] = []
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self._thread:
            return
        text = re.sub(r"<[^>]*>\s*", "", record.getMessage())
        inner = re.search(r"raised \w+\((['\"])(.*)\1\)", text)
        text = " ".join((inner.group(2) if inner else text).split())[:120]
        self.messages.append(text)
        if any(word in text.lower() for word in self._DAMAGE_WORDS):
            self.damaged.append(text)

    def __enter__(self) -> "_TiffProblems":
        logging.getLogger("tifffile").addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger("tifffile").removeHandler(self)


def _native(a: np.ndarray) -> np.ndarray:
    if a.dtype.byteorder not in ("=", "|"):
        a = a.astype(a.dtype.newbyteorder("="))
    return np.ascontiguousarray(a)


def normalise_unit(unit: str | None) -> str:
    if not unit:
        return ""
    return _UNIT_NAMES.get(str(unit).strip().lower(), _UNIT_NAMES.get(str(unit).strip(), ""))


def _imagej_or_tag_metadata(imagej: dict | None, page):
    resolution = page.resolution  # (x, y) pixels per unit
    pixel_size = None
    z_spacing = None
    unit = ""
    if imagej:
        unit = normalise_unit(imagej.get("unit"))
        if unit and all(r > 0 for r in resolution):
            pixel_size = (1.0 / resolution[1], 1.0 / resolution[0])
        spacing = imagej.get("spacing")
        if unit and spacing is not None and float(spacing) > 0:
            z_spacing = float(spacing)
        return pixel_size, z_spacing, unit
    # Plain TIFF: trust only metric resolution units. Inch resolutions are the 72/300 dpi
    # that image editors put in every file, meaningless for a microscope image.
    res_unit = int(page.resolutionunit)
    factor = {3: 1e4, 4: 1e3, 5: 1.0}.get(res_unit)  # cm, mm, um (tifffile extensions)
    if factor and all(r > 0 for r in resolution):
        pixel_size = (factor / resolution[1], factor / resolution[0])
        unit = "um"
    return pixel_size, z_spacing, unit


def _ome_pixels(xml: str, image: int) -> ET.Element | None:
    """The Pixels element of image `image` of OME-XML."""
    pixels = [el for el in ET.fromstring(xml).iter() if el.tag.endswith("}Pixels") or el.tag == "Pixels"]
    return pixels[image] if image < len(pixels) else None


def _ome_metadata(xml: str, image: int = 0):
    pixels = _ome_pixels(xml, image)
    if pixels is None:
        return None, None, ""

    def size(axis: str) -> float | None:
        value = pixels.get(f"PhysicalSize{axis}")
        if value is None or float(value) <= 0:
            return None
        return in_micrometres(float(value), normalise_unit(pixels.get(f"PhysicalSize{axis}Unit", "µm")))

    x, y, z = size("X"), size("Y"), size("Z")
    if x is None and y is None:
        return None, z, "um" if z is not None else ""
    pixel_size = (y if y is not None else x, x if x is not None else y)
    return pixel_size, z, "um"
