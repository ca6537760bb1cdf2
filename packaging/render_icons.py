"""Render the app icon's PNG sizes (and the Windows .ico / macOS .icns) from its SVGs.

Usage: python packaging/render_icons.py

Inputs:  resources/icons/unet-studio.svg          (the icon, used for 32 px and up)
         packaging/icons/unet-studio-small.svg    (pixel-aligned version for 16 px)
Outputs: resources/icons/unet-studio-<size>.png   for size in unet_studio.resources.ICON_SIZES
         packaging/icons/unet-studio.ico           (16-256 px, for the Windows build)
         packaging/icons/unet-studio.icns          (16-512 px, for the macOS build)

Renders with Qt's own SVG renderer (QtSvg ships in pyside6-essentials) so the
PNGs look like the SVG does inside the app. The .ico/.icns need Pillow, which
scikit-image already pulls in. Run it after editing either SVG; commit the outputs.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ICON_DIR = REPO / "resources" / "icons"
FULL_SVG = ICON_DIR / "unet-studio.svg"
SMALL_SVG = REPO / "packaging" / "icons" / "unet-studio-small.svg"
SMALL_UP_TO = 24  # edges this size or smaller come from the pixel-aligned SVG
SIZES = (16, 32, 48, 64, 128, 256, 512)  # == unet_studio.resources.ICON_SIZES


def render_png(svg: Path, size: int, target: Path) -> None:
    """Render `svg` into a size x size RGBA PNG at `target`."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: Qt cannot read this SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    if not image.save(str(target), "PNG"):
        raise SystemExit(f"could not write {target}")


def write_platform_icons() -> None:
    """Bundle the PNGs into packaging/icons/unet-studio.ico and .icns with Pillow."""
    from PIL import Image

    pngs = {size: Image.open(ICON_DIR / f"unet-studio-{size}.png").convert("RGBA") for size in SIZES}
    ico = REPO / "packaging" / "icons" / "unet-studio.ico"
    # Pillow builds each .ico entry from the largest image; hand it the crisp 16 px one too.
    pngs[256].save(ico, sizes=[(s, s) for s in (16, 32, 48, 64, 128, 256)],
                   append_images=[pngs[16], pngs[32], pngs[48], pngs[64], pngs[128]])
    icns = REPO / "packaging" / "icons" / "unet-studio.icns"
    pngs[512].save(icns, append_images=[pngs[s] for s in (16, 32, 64, 128, 256)])
    print(f"wrote {ico.relative_to(REPO)}, {icns.relative_to(REPO)}")


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (kept alive)
    for size in SIZES:
        svg = SMALL_SVG if size <= SMALL_UP_TO else FULL_SVG
        target = ICON_DIR / f"unet-studio-{size}.png"
        render_png(svg, size, target)
        print(f"wrote {target.relative_to(REPO)} from {svg.name}")
    write_platform_icons()


if __name__ == "__main__":
    main()
