"""Files the app ships with: the sample image and the app icon.

This folder sits at the top of the repository but is installed as the package
``unet_studio.resources`` (see ``[tool.setuptools.package-dir]`` in pyproject.toml),
so the same code finds the files from a source checkout (editable install), an
installed wheel and a PyInstaller bundle. Where they come from and their licences:
``LICENSES.md`` beside this file.

No Qt here: core code and the command line import this module too.
"""
from __future__ import annotations

import atexit
import contextlib
from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["ICON_SIZES", "SAMPLE_IMAGE", "sample_image_path", "icon_path"]

SAMPLE_IMAGE = "sample_nuclei.tif"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
_ICON_NAME = "unet-studio"

# Resources inside a zip archive only exist as real files while an as_file()
# context is open; keep those contexts open until the interpreter exits so the
# returned paths stay valid for the whole session.
_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def _resource_path(relative: str) -> Path:
    """Real file-system path of a file shipped in this package.

    Raises FileNotFoundError naming the file when the installation lacks it
    (a broken or partial install), rather than returning a path that fails later.
    """
    resource = files(__name__)
    for part in relative.split("/"):
        resource = resource.joinpath(part)
    if isinstance(resource, Path):
        path = resource
    else:  # zip or another non-file-system loader: extract once, keep it
        path = _extracted.enter_context(as_file(resource))
    if not path.is_file():
        raise FileNotFoundError(f"unet_studio is missing its resource file {relative!r}; reinstall it")
    return Path(path)


def sample_image_path() -> Path:
    """The bundled sample: a 520 x 696 uint8 greyscale fluorescence image of nuclei
    (ImageJ TIFF, axes YX) from the 2018 Data Science Bowl, CC0."""
    return _resource_path(SAMPLE_IMAGE)


def icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG when `size` is None, else the square PNG whose edge
    (in pixels) is nearest to `size` among ICON_SIZES (ties go to the larger one)."""
    if size is None:
        return _resource_path(f"icons/{_ICON_NAME}.svg")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"icon size must be a positive number of pixels, not {size!r}")
    nearest = min(ICON_SIZES, key=lambda s: (abs(s - size), -s))
    return _resource_path(f"icons/{_ICON_NAME}-{nearest}.png")
