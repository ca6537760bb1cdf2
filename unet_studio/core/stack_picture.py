"""Pictures (PNG, JPEG, BMP, GIF) as a Stack: one plane, grey or colour.

A grey picture stored as colour (a palette of greys, RGB with R = G = B) is one channel, as
its TIFF would be, so a model trained on grey images predicts it; a GIF of one frame is that
frame."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from unet_studio.core.errors import StackError


def open_picture(path: Path):
    """A Stack of a PNG, JPEG, BMP or GIF picture (read whole: pictures are small)."""
    import imageio.v3 as iio

    from unet_studio.core.stack import Stack

    data = np.asarray(iio.imread(path))
    if data.ndim == 4 and data.shape[0] == 1:   # a GIF of one frame
        data = data[0]
    if data.ndim == 3 and data.shape[-1] in (3, 4) and _grey(data):   # a grey palette as RGB(A)
        data = data[..., 0]
    if data.ndim == 3 and data.shape[-1] in (1, 2, 3, 4):
        data = np.moveaxis(data, -1, 0)
        axes = "CYX"
    elif data.ndim == 2:
        axes = "YX"
    elif data.ndim == 4:
        raise StackError(f"{path}: a picture of {data.shape[0]} frames, which is read here only as a TIFF "
                         "stack (Fiji: File > Save As > Tiff)")
    else:
        raise StackError(f"{path}: unsupported picture layout {data.shape}")
    stack = Stack.from_array(np.ascontiguousarray(data), axes, name=path.name)
    stack.path = path
    return stack


def _grey(rgb: np.ndarray) -> bool:
    """Whether colour pixels are all grey (R = G = B, opaque): a picture stored as RGB(A)."""
    opaque = rgb.shape[-1] == 3 or rgb.dtype.kind in "ui" and (rgb[..., 3] == np.iinfo(rgb.dtype).max).all()
    return bool(opaque and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
