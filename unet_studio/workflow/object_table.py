"""The numbers of the objects: one row per object (ml/objects.py's instances), as a CSV for
spreadsheets and as an ImageJ ROI set for Fiji's ROI Manager.

    table = object_table(instances, "ZYX", image=planes, probabilities=probs, object_class=2,
                         class_name="nucleus", pixel_size=(0.32, 0.32))
    write_objects_csv("cells_objects.csv", table)
    write_imagej_rois("cells_rois.zip", instances, "ZYX")

Arrays carry label axes such as "YX", "ZYX", "TZYX" (core Stack.label_axes); instances are
numbered per plane (predict_stack), or, with in_3d=True, per (Z, Y, X) volume (an object keeps
one id across slices). Measurements use scikit-image's regionprops_table.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

import numpy as np

from unet_studio.core.atomic import atomic_path, atomic_write_bytes

Table = dict   # column name -> 1-D array, one entry per object, all of the same length

_SHAPE = ("label", "area", "centroid", "bbox", "equivalent_diameter_area")
_INTENSITY = ("intensity_mean", "intensity_min", "intensity_max")


def object_table(instances: np.ndarray, axes: str, *, image: np.ndarray | None = None,
                 probabilities: np.ndarray | None = None, object_class: int | None = None,
                 class_name: str = "", pixel_size: float | Sequence[float] | None = None,
                 in_3d: bool = False) -> Table:
    """One row per object.

    instances: int labels with `axes` (e.g. "TZYX"). image: intensities with the same axes, or
    with a channel axis before Y X (axes[:-2] + "CYX"). probabilities: (axes[:-2] + "KYX") class
    probabilities; with object_class k the mean probability of class k over each object's
    pixels where it is at least one half is its confidence (not over the border pixels it grew
    into). pixel_size: µm per pixel, (y, x) or one number; with in_3d also the z step:
    (z, y, x). None: the image is not calibrated and no µm columns are written.
    Columns: id, t, z (-1 where the axis is absent or the object spans slices), area_px
    (volume_voxels in 3-D), area_um2 / volume_um3, centroid_*, bbox_* (start inclusive, stop
    exclusive), equivalent_diameter_px (in 3-D of the sphere of its volume, slices as far apart
    as the pixel size says), mean/min/max_intensity_c<n> per channel, class, confidence.
    """
    instances = np.asarray(instances)
    if instances.ndim != len(axes):
        raise ValueError(f"instances {instances.shape} do not have axes {axes!r}")
    spatial = 3 if in_3d else 2
    if in_3d and not axes.endswith("ZYX"):
        raise ValueError(f"3-D objects need a Z axis, not {axes!r}")
    lead = axes[:-spatial]
    parts = []
    for index in np.ndindex(instances.shape[:len(lead)]):
        labels = instances[index]
        if not labels.any():
            continue
        part = _measure(labels, _channels_last(image, index, labels.shape),
                        _confidence_of(probabilities, index, object_class))
        where = dict(zip(lead, index))
        n = len(part["id"])
        part = {"id": part.pop("id"), "t": np.full(n, where.get("T", -1)),
                "z": np.full(n, where.get("Z", -1)), **part}
        parts.append(part)
    n_channels = 0 if image is None else 1 if np.ndim(image) == instances.ndim else np.shape(image)[-3]
    table = _concatenate(parts, spatial, n_channels, probabilities is not None and object_class is not None)
    if pixel_size is not None:
        _add_calibration(table, pixel_size, spatial)
    if in_3d:
        _as_volumes(table, pixel_size)
    n = len(table["id"])
    if object_class is not None:
        table["class"] = np.full(n, class_name or str(object_class), dtype=object)
    return table


def _channels_last(image, index, shape) -> np.ndarray | None:
    if image is None:
        return None
    part = np.asarray(image[index], np.float32)
    if part.shape == shape:
        return part[..., None]
    if part.ndim == len(shape) + 1 and np.delete(part.shape, -3).tolist() == list(shape):
        return np.moveaxis(part, -3, -1)   # ([Z,] C, Y, X) -> ([Z,] Y, X, C)
    raise ValueError(f"the image's plane {part.shape} does not fit the instances' {shape}")


def _confidence_of(probabilities, index, k) -> tuple[np.ndarray, np.ndarray] | None:
    """(class k's probability, where it is at least one half: the object's own pixels, not the
    border pixels it grew into), ([Z,] Y, X) each. Read from class k's probability alone, as an
    export passes it."""
    if probabilities is None or k is None:
        return None
    probability = np.take(np.asarray(probabilities[index], np.float32), k - 1, axis=-3)   # ([Z,] K, Y, X)
    return probability, probability >= 0.5


def _mean_where(labels: np.ndarray, values: np.ndarray, where: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Each object's (`ids`) mean of `values` over its pixels in `where` (all its pixels where
    it has none there)."""
    n = int(labels.max()) + 1
    flat, values, where = labels.ravel(), values.ravel(), where.ravel()
    total, count = np.bincount(flat, weights=values, minlength=n), np.bincount(flat, minlength=n)
    own_total = np.bincount(flat[where], weights=values[where], minlength=n)
    own_count = np.bincount(flat[where], minlength=n)
    mean = np.where(own_count > 0, own_total / np.maximum(own_count, 1), total / np.maximum(count, 1))
    return mean[ids]


def _measure(labels: np.ndarray, intensity: np.ndarray | None, confidence: tuple | None) -> Table:
    from skimage.measure import regionprops_table

    channels = [] if intensity is None else [intensity]
    stacked = np.concatenate(channels, axis=-1) if channels else None
    names = _SHAPE + (_INTENSITY if stacked is not None else ())
    raw = regionprops_table(labels, intensity_image=stacked, properties=names)
    n_channels = 0 if intensity is None else intensity.shape[-1]
    ndim = labels.ndim
    axis = "zyx"[3 - ndim:]
    out = {"id": raw["label"], "area_px": raw["area"]}
    out.update({f"centroid_{a}": raw[f"centroid-{i}"] for i, a in enumerate(axis)})
    out.update({f"bbox_{a}0": raw[f"bbox-{i}"] for i, a in enumerate(axis)})
    out.update({f"bbox_{a}1": raw[f"bbox-{i + ndim}"] for i, a in enumerate(axis)})
    out["equivalent_diameter_px"] = raw["equivalent_diameter_area"]
    for c in range(n_channels):
        for stat in ("mean", "min", "max"):
            out[f"{stat}_intensity_c{c + 1}"] = raw[f"intensity_{stat}-{c}"]
    if confidence is not None:
        out["confidence"] = _mean_where(labels, *confidence, np.asarray(raw["label"], np.intp))
    return out


def _concatenate(parts: list[Table], spatial: int, n_channels: int, confidence: bool) -> Table:
    """The parts as one table; with no objects, the columns a table of some would have (so
    the tables of a batch share their columns)."""
    if parts:
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    axis = "zyx"[3 - spatial:]
    keys = (["id", "t", "z", "area_px"] + [f"centroid_{a}" for a in axis] + [f"bbox_{a}0" for a in axis]
            + [f"bbox_{a}1" for a in axis] + ["equivalent_diameter_px"]
            + [f"{stat}_intensity_c{c + 1}" for c in range(n_channels) for stat in ("mean", "min", "max")]
            + ["confidence"] * confidence)
    return {key: np.zeros(0) for key in keys}


def _add_calibration(table: Table, pixel_size, spatial: int) -> None:
    sizes = np.broadcast_to(np.asarray(pixel_size, float), (spatial,)) if np.ndim(pixel_size) == 0 \
        else np.asarray(pixel_size, float)
    if len(sizes) != spatial:
        raise ValueError(f"pixel size {tuple(sizes)} needs {spatial} values (z, y, x)[-{spatial}:]")
    name = "volume_um3" if spatial == 3 else "area_um2"
    calibrated = {name: table["area_px"] * float(np.prod(sizes))}
    keys = list(table)
    at = keys.index("area_px") + 1
    for key in keys[at:]:
        calibrated[key] = table.pop(key)
    table.update(calibrated)


def _as_volumes(table: Table, voxel_size) -> None:
    """3-D objects: their voxel count named so, and their diameter measured with the slices as
    far apart as they are (regionprops takes a voxel for a cube) where the voxel size is known."""
    table.update({("volume_voxels" if key == "area_px" else key): table.pop(key) for key in list(table)})
    if voxel_size is not None:
        z, y, x = np.broadcast_to(np.asarray(voxel_size, float), (3,))
        cubes = table["volume_voxels"] * z / np.sqrt(y * x)   # the volume in (pixel size)³
        table["equivalent_diameter_px"] = np.cbrt(6.0 * cubes / np.pi)


def write_objects_csv(path: str | Path, table: Table) -> Path:
    """Write the table as a CSV (a header row, one row per object), atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(table))
    columns = [[_cell(v) for v in values] for values in table.values()]
    writer.writerows(zip(*columns))
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
    return Path(path)


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def write_imagej_rois(path: str | Path, instances: np.ndarray, axes: str = "YX") -> Path:
    """Write an ImageJ ROI set (.zip for Fiji's ROI Manager): one polygon per object and plane,
    outlined with skimage.measure.find_contours, with its z / t position in a stack. An object
    numbered across slices (3-D) gives one ROI per slice it crosses, all named after its id."""
    import roifile

    instances = np.asarray(instances)
    if instances.ndim != len(axes):
        raise ValueError(f"instances {instances.shape} do not have axes {axes!r}")
    rois = []
    for index in np.ndindex(instances.shape[:-2]):
        rois += plane_rois(instances[index], dict(zip(axes[:-2], index)))
    with atomic_path(path) as tmp:
        roifile.roiwrite(tmp, rois, mode="w")
    return Path(path)


def plane_rois(labels: np.ndarray, where: dict[str, int], origin: tuple[int, int] = (0, 0)) -> list:
    """ImageJ polygon ROIs of one plane's objects; `where`: its 0-based position by axis
    ({"T": t, "Z": z}), kept in each ROI and in its name (`z3-00012`: slice 3, object 12);
    `origin`: where `labels` start in the plane (y, x), for a window of it."""
    import roifile

    rois = []
    for label, outline in _outlines(labels):
        outline = outline + (origin[1], origin[0])
        name = "-".join([f"{a.lower()}{i + 1}" for a, i in where.items()] + [f"{label:05d}"])
        rois.append(roifile.ImagejRoi.frompoints(outline, name=name, z=where.get("Z"), t=where.get("T")))
    return rois


def _outlines(labels: np.ndarray):
    """(id, (n, 2) x y polygon) for each object of a plane: the longest contour of its pixels."""
    from skimage.measure import find_contours, regionprops

    for region in regionprops(labels):
        y0, x0 = region.bbox[0], region.bbox[1]
        padded = np.pad(region.image, 1).astype(np.float32)
        contour = max(find_contours(padded, 0.5), key=len)
        yield region.label, np.column_stack([contour[:, 1] + x0 - 1, contour[:, 0] + y0 - 1])
