"""The image items stacked in the canvas: labels, predicted mask and heat map.

Each layer is its own pyqtgraph ImageItem with its own lookup table and opacity. Colours come
from the LabelVolume's classes; nothing here edits data.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg

# Drawn above the image in this order: the user's strokes stay visible on top of predictions.
Z_IMAGE, Z_HEAT, Z_MASK, Z_LABELS = 0, 1, 2, 3


def class_colors(classes: Sequence, transparent: Sequence[int] = (0,)) -> np.ndarray:
    """RGBA lookup table (256, 4) uint8: row k is the colour of class k (1-based), opaque;
    rows listed in `transparent` (0 = unlabeled) and rows past the last class are clear."""
    lut = np.zeros((256, 4), np.uint8)
    for k, label_class in enumerate(classes, start=1):
        if k > 255:
            break
        lut[k, :3] = label_class.color
        lut[k, 3] = 255
    for k in transparent:
        lut[k] = 0
    return lut


def background_classes(classes: Sequence) -> list[int]:
    """1-based numbers of classes named "background": their predicted area is not coloured,
    so the overlay shows the objects, not the whole image."""
    return [k for k, c in enumerate(classes, start=1) if c.name.strip().lower() == "background"]


class LabelsLayer(pg.ImageItem):
    """The user's strokes on the shown plane.

    Keeps an RGBA (Y, X, 4) uint8 buffer of the plane; `refresh(rect)` recolours only the
    rectangle that changed, so painting on a 2048 x 2048 plane costs the size of the brush,
    not of the image.
    """

    def __init__(self):
        super().__init__()
        self.setZValue(Z_LABELS)
        self.setOpacity(0.85)  # the user's strokes stand out from the paler prediction
        self._plane: np.ndarray | None = None
        self._lut = np.zeros((256, 4), np.uint8)
        self._rgba: np.ndarray | None = None

    def set_plane(self, plane: np.ndarray | None, lut: np.ndarray | None = None) -> None:
        """Show `plane` (Y, X) uint8, a live view into LabelVolume.data; None hides the layer."""
        self._plane = plane
        if lut is not None:
            self._lut = lut
        if plane is None:
            self._rgba = None
            self.clear()
            return
        if self._rgba is None or self._rgba.shape[:2] != plane.shape:
            self._rgba = np.zeros(plane.shape + (4,), np.uint8)
        self.refresh()

    def set_lut(self, lut: np.ndarray) -> None:
        """New class colours: recolour the whole plane."""
        self._lut = lut
        self.refresh()

    def refresh(self, rect: tuple[int, int, int, int] | None = None) -> None:
        """Recolour `rect` = (y0, y1, x0, x1) of the plane (the whole plane when None)."""
        if self._plane is None or self._rgba is None:
            return
        if rect is None:
            y0, y1, x0, x1 = 0, self._plane.shape[0], 0, self._plane.shape[1]
        else:
            y0, y1, x0, x1 = (int(v) for v in rect)
            y0, x0 = max(0, y0), max(0, x0)
            y1, x1 = min(self._plane.shape[0], y1), min(self._plane.shape[1], x1)
            if y1 <= y0 or x1 <= x0:
                return
        self._rgba[y0:y1, x0:x1] = self._lut[self._plane[y0:y1, x0:x1]]
        if rect is None or self.image is None:
            self.setImage(self._rgba, autoLevels=False, levels=None)
        else:
            self.updateImage()

    def rgba(self) -> np.ndarray | None:
        """The displayed colours (Y, X, 4) uint8 (for tests and screenshots)."""
        return self._rgba


class MaskLayer(pg.ImageItem):
    """The predicted class of each pixel, coloured by class (uint8 indexed, no copy)."""

    def __init__(self):
        super().__init__()
        self.setZValue(Z_MASK)
        self.setOpacity(0.45)

    def set_mask(self, mask: np.ndarray | None, lut: np.ndarray) -> None:
        """`mask` (Y, X) uint8 class numbers 1..K, or None to show nothing."""
        if mask is None:
            self.clear()
            return
        self.setImage(np.ascontiguousarray(mask, dtype=np.uint8), lut=lut,
                      levels=(0, 255), autoLevels=False)


def heat_colors(colormap: str = "inferno") -> np.ndarray:
    """RGBA lookup table (256, 4) uint8 whose alpha rises with the value: low values stay
    see-through, so only the probable (or uncertain) places glow over the image."""
    lut = pg.colormap.get(colormap).getLookupTable(0.25, 1.0, nPts=256, alpha=True)
    lut = np.asarray(lut, np.uint8).copy()
    lut[:, 3] = np.clip(np.linspace(0, 1, 256) * 1.6, 0, 1) * 255
    return lut


class HeatLayer(pg.ImageItem):
    """A map in [0, 1] (probability of one class, or uncertainty) as a heat map."""

    def __init__(self, colormap: str = "inferno"):
        super().__init__()
        self.setZValue(Z_HEAT)
        self.setOpacity(0.8)
        self.setLookupTable(heat_colors(colormap))

    def set_map(self, values: np.ndarray | None) -> None:
        """`values` (Y, X) float in [0, 1], or None to show nothing."""
        if values is None:
            self.clear()
            return
        self.setImage(np.asarray(values, dtype=np.float32), levels=(0.0, 1.0), autoLevels=False)
