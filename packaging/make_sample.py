"""Re-create resources/sample_nuclei.tif from the shared DSB2018 pretraining pool.

Usage: python packaging/make_sample.py [--data ../shared/data]

The image is copied pixel for pixel (uint8, 520 x 696) into an ImageJ TIFF with
axes YX and its origin written into the ImageJ "Info" property (Image > Show Info
in Fiji). Kept so the sample's provenance can be checked and re-made, not run at
build time: the TIFF itself is committed.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import tifffile

IMAGE_ID = "da31f2aa8601afec5c45180a2c448cb9c4a8ec7b35e75190d6ba3588f69058c8"
INFO = (
    "unet_studio sample image: fluorescence-stained cell nuclei.\n"
    "Source: 2018 Data Science Bowl (Kaggle), stage 1 training set, image ID\n"
    f"{IMAGE_ID};\n"
    "image set BBBC038v1 of the Broad Bioimage Benchmark Collection\n"
    "(Caicedo et al., Nature Methods 16, 1247-1253, 2019).\n"
    "Licence: CC0 1.0 (public domain dedication). Pixel size unknown.\n"
)
REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    source = args.data / "pretrain-dsb2018" / "images" / f"{IMAGE_ID[:12]}.tif"
    image = tifffile.imread(source)
    if image.shape != (520, 696) or image.dtype != "uint8":
        raise SystemExit(f"{source}: expected a 520 x 696 uint8 image, got {image.shape} {image.dtype}")
    target = REPO / "resources" / "sample_nuclei.tif"
    tifffile.imwrite(
        target, image, imagej=True, metadata={"axes": "YX", "Info": INFO},
        software="unet_studio", compression=None,
    )
    print(f"wrote {target} ({target.stat().st_size} bytes) from {source}")


if __name__ == "__main__":
    main()
