"""What an export writes besides the pixels: the source's calibration, the class names, and
the description of an export the writers of workflow/export.py are opened with.

One calibration rule (`Calibration.of`): pixel size (y and x apart), unit and Z spacing only
when the source has them, nothing invented. Class names travel as ImageJ properties
"class 0", "class 1", ... (Fiji: Image > Show Info; `unet-studio info` reads them back).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from unet_studio.core.class_templates import border_class
from unet_studio.core.units import in_micrometres

TIFF, OME_ZARR = "tiff", "ome-zarr"           # the formats of the images (export.FORMAT_ENDINGS)


@dataclass(frozen=True)
class Calibration:
    """What the source says about its scale: (y, x) pixel size and Z spacing in `unit`."""
    pixel_size: tuple[float, float] | None = None
    z_spacing: float | None = None
    unit: str = ""

    @classmethod
    def of(cls, stack) -> "Calibration":
        pixel_size = tuple(float(v) for v in stack.pixel_size) if stack.pixel_size else None
        z_spacing = float(stack.z_spacing) if stack.z_spacing and "Z" in stack.axes else None
        unit = stack.unit if (pixel_size or z_spacing) else ""
        return cls(pixel_size, z_spacing, unit or "")

    @property
    def pixel_size_um(self) -> tuple[float, float] | None:
        """(y, x) in µm, for the objects' areas; None where the unit is no length known here."""
        sizes = [in_micrometres(v, self.unit) for v in self.pixel_size or ()]
        return tuple(sizes) if sizes and None not in sizes else None

    @property
    def voxel_size_um(self) -> tuple[float, float, float] | None:
        """(z, y, x) in µm, for 3-D objects' volumes; None unless all three are known."""
        z, yx = in_micrometres(self.z_spacing, self.unit), self.pixel_size_um
        return (z, *yx) if z and yx else None

    def tiff_metadata(self, **more):
        """The core/tiff_writer.py TiffMetadata of a file with this calibration (and `more`)."""
        from unet_studio.core.tiff_writer import TiffMetadata

        return TiffMetadata(pixel_size=self.pixel_size, z_spacing=self.z_spacing, unit=self.unit, **more)


@dataclass(frozen=True)
class ExportMeta:
    """What the writers need: the label axes and shape of the source (axes from TZYX), the
    class names in order, its calibration, the class split into objects (1-based), the
    objects' diameter in px (None: measured in each plane, ml/objects.py), and whether objects
    span the slices of a Z stack (one id across slices, workflow/objects_3d.py) or each plane
    has its own."""
    axes: str
    shape: tuple[int, ...]
    classes: list[str]
    calibration: Calibration = field(default_factory=Calibration)
    object_class: int | None = None
    object_size: float | None = None
    format: str = TIFF
    objects_3d: bool = False
    in_parts: bool = False   # planes too large to hold: written part by part (core Stack.read_in_parts)
    reopen: bool = False     # the files exist (OME-Zarr): planes shared among processes (cluster_volume.py)
    source: dict = field(default_factory=dict)   # the image predicted (source_record), kept in each image file

    @property
    def border_class(self) -> int | None:
        """The class of the borders between touching objects (by its name), which they grow into."""
        return border_class(self.classes)

    @classmethod
    def of(cls, stack, classes: Iterable[Any], object_class: int | None = None,
           object_size: float | None = None, format: str = TIFF,
           objects_3d: bool = False) -> "ExportMeta":
        """objects_3d: objects span the slices where the stack has more than one (else per plane)."""
        names = [c if isinstance(c, str) else (c["name"] if isinstance(c, dict) else c.name)
                 for c in classes]
        return cls(stack.label_axes, tuple(stack.label_shape), names, Calibration.of(stack),
                   object_class, object_size, format, objects_3d and stack.n_z > 1,
                   bool(getattr(stack, "read_in_parts", False)),
                   source=source_record(stack.path, stack.scene) if stack.path else {})


def source_record(path: str | Path, scene: int | None) -> dict[str, str]:
    """What an output file says it was predicted from: {"source": the image file (absolute),
    "source scene": its scene (from 1), for a file of several}. ImageJ properties in a TIFF
    (Fiji: Image > Show Info), attributes in an OME-Zarr; a later batch reads it (source_in) to
    tell its own outputs from those of another image of the same name."""
    record = {"source": str(Path(path).absolute())}
    if scene is not None:
        record["source scene"] = str(scene + 1)
    return record


def source_in(path: str | Path) -> dict[str, str]:
    """The source_record an output file holds ({} where it has none or cannot be read)."""
    try:
        props = _properties(path)
    except (OSError, ValueError, AttributeError, TypeError):
        return {}
    record = {k: str(v) for k, v in props.items() if k in ("source", "source scene")}
    return record if "source" in record else {}


def _properties(path: str | Path) -> dict:
    """What an output file says besides its pixels: a TIFF's ImageJ properties, or an OME-Zarr's
    attributes under the same names ("class 0", ..., "source")."""
    path = Path(path)
    if path.is_dir():
        import zarr

        ours = dict(zarr.open_group(str(path), mode="r").attrs).get("unet_studio") or {}
        props = {f"class {k}": v for k, v in dict(ours.get("classes") or {}).items()}
        return props | dict(ours.get("source") or {})
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return dict((tif.imagej_metadata or {}).get("Properties") or {})


def class_properties(classes: list[str]) -> dict[str, str]:
    """ImageJ properties naming the class of each mask value: {"class 0": "background", ...}."""
    return {f"class {k}": name for k, name in enumerate(classes)}


def class_names_in(path: str | Path) -> list[str] | None:
    """The class names an exported mask carries (value k = names[k]), None if it has none."""
    props = _properties(path)
    names = {}
    for key, value in props.items():
        head, _, number = str(key).partition(" ")
        if head == "class" and number.isdigit():
            names[int(number)] = str(value)
    if not names or sorted(names) != list(range(len(names))):
        return None
    return [names[k] for k in range(len(names))]
