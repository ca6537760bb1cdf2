"""The kinds of objects benchmarks/objects.py scores: each a quality_tasks.Task (background = 1,
object = 2) with a few scribbled training images and held-out images with instance truth.

- dsb: the DSB 2018 dev set of ../shared/data (quality_tasks.load_dsb). dsb-hand: the same, its
  strokes painted as hands paint them (3x as wide, off-centre, spilling over the nuclei's edges).
  dsb-across: a stroke across each nucleus painted, to its edges (the brush's round ends spill
  past them), with a brush 0.4 of its diameter (Task.with_strokes_across): a 9 px brush on
  20 px nuclei, as people paint them in the app.
- large, colour, small, brightfield: held-out groups of ../shared/data/pretrain-dsb2018 -
  fluorescence (greyscale, dark background) images whose median nucleus is over 40 px across
  (360², 520 x 696 and the 1040 x 1388 image), colour-stained tissue (RGB, 256 x 320),
  fluorescence nuclei under 12 px across, brightfield (greyscale, dark nuclei on a bright
  background, 1024²: 3 scribbled, 13 scored). The first
  TRAIN images of a group by name are scribbled (../shared/tools/simulate_scribbles.py, its
  defaults, seed 0); the next EVAL are scored.
- blobs, organelles, cells: synthetic images made here (seeded): large round blobs 60-110 px
  across, some touching; elongated organelle-like capsules 5-10 px wide; packed cells about
  36 px across, touching, with dim borders.
- halo: cells as phase contrast shows them, each ringed by a bright halo 6-9 px wide outside
  it, which is background (the truth is the cell alone): a first model calls the halo cell.
- em-cells: the cells between the membranes of the ISBI 2012 EM stack (../shared/data/isbi2012:
  its scribbled slices 0 and 1 train, slices 10-29 are scored). Each true cell is a connected
  piece of its cell interior grown into the membrane pixels around it (each to the nearest
  cell), as EM neuron labels are drawn (SNEMI3D, CREMI). The classes as ISBI numbers them:
  membrane 1 (a border class by its name), cell interior 2, whose objects are counted (the
  app's "Membranes (EM)" template counts its "cell interior"). The cells range from 10 px
  axons to 80 px dendrites, beside each other. em-cells-hand: the same, its strokes painted as
  hands paint them (3x as wide, off-centre: quality_tasks.hand_painted).
- cells-borders: the same images as cells, painted with a third class, "border", on the dim
  borders between touching cells (the app's "Touching cells, with their borders" template);
  the cells are class 2's objects, parted by the border class. cells-borders-hand: its strokes
  painted as hands paint them (3x as wide, off-centre), the borders' too.
Colour images are (C, Y, X) arrays (train_images and eval_images); greyscale ones (Y, X).
"""
from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage

from quality_tasks import Task, load_dsb, load_isbi

TRAIN, EVAL = 3, 20
KINDS = ("dsb", "large", "colour", "small", "brightfield", "blobs", "organelles", "cells", "cells-borders", "halo",
         "em-cells", "em-cells-hand", "cells-borders-hand", "dsb-hand",
         "dsb-across")


def load_kind(name: str, data: Path) -> Task:
    if name == "dsb":
        return load_dsb(data)
    if name == "dsb-hand":
        return load_dsb(data).with_hand_strokes(3.0)
    if name == "dsb-across":
        return load_dsb(data).with_strokes_across()
    if name == "em-cells":
        return _em_cells(Path(data))
    if name == "em-cells-hand":
        return _em_cells(Path(data)).with_hand_strokes(3.0)
    if name == "cells-borders-hand":
        return _synthetic("cells-borders", Path(data)).with_hand_strokes(3.0)
    if name in ("large", "colour", "small", "brightfield"):
        return _held_out(name, Path(data))
    return _synthetic(name, Path(data))


# -- held-out groups of pretrain-dsb2018 ----------------------------------------------------
def held_out_names(data: Path) -> list[str]:
    """Every image of the four held-out groups (not only those scored): what a starting model
    trained without them (packaging/starting_model, --leave-out) has never seen."""
    folder = Path(data) / "pretrain-dsb2018"
    return sorted({n for g in ("large", "colour", "small", "brightfield") for n in _group(g, folder)})


def _group(name: str, folder: Path) -> list[str]:
    """Image names of one group, measured from their instance labels (cached in the temp folder)."""
    survey = _survey(folder)
    fluorescence = [r for r in survey if not r["colour"] and not r["bright"]]
    if name == "large":
        return [r["name"] for r in fluorescence if r["d"] > 40]
    if name == "small":
        return [r["name"] for r in fluorescence if 0 < r["d"] < 12]
    if name == "brightfield":
        return [r["name"] for r in survey if not r["colour"] and r["bright"]]
    return [r["name"] for r in survey if r["colour"]]


def _survey(folder: Path) -> list[dict]:
    cache = Path(tempfile.gettempdir()) / "unet_studio-objects-cache" / "survey.json"
    if cache.exists():
        rows = json.loads(cache.read_text())
        if all("bright" in r for r in rows):
            return rows
    rows = []
    for path in sorted((folder / "images").glob("*.tif")):
        image = tifffile.imread(path)
        areas = np.bincount(tifffile.imread(folder / "instances" / path.name).ravel())[1:]
        areas = areas[areas > 0]
        colour = image.ndim == 3 and float(np.abs(image[..., 0].astype(float) - image[..., 2]).mean()) > 5
        grey = image[..., 0] if image.ndim == 3 else image
        rows.append({"name": path.name, "colour": bool(colour), "bright": bool(np.median(grey) > 100),
                     "d": float(np.median(2 * np.sqrt(areas / np.pi))) if len(areas) else 0.0})
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(rows))
    return rows


def _as_image(image: np.ndarray) -> np.ndarray:
    """(Y, X) grey, or (C, Y, X) colour; RGB files of grey content become grey."""
    if image.ndim == 3:
        if np.abs(image[..., 0].astype(float) - image[..., 2]).mean() <= 5:
            return image[..., 0]
        return np.ascontiguousarray(np.moveaxis(image[..., :3], -1, 0))
    return image


def _held_out(name: str, data: Path) -> Task:
    folder = data / "pretrain-dsb2018"
    names = _group(name, folder)
    if name == "large":   # the one image 1000 x 1350 is always scored
        big = [n for n in names if tifffile.imread(folder / "instances" / n).shape[0] > 1000]
        names = [n for n in names if n not in big]
        names = names[:TRAIN] + big + names[TRAIN:TRAIN + EVAL - len(big)]
    names = names[:TRAIN + EVAL]
    images = [_as_image(tifffile.imread(folder / "images" / n)) for n in names]
    instances = [tifffile.imread(folder / "instances" / n).astype(np.int32) for n in names]
    return _task(name, images, instances, data)


def _em_cells(data: Path) -> Task:
    """quality_tasks.load_isbi's stack: its two scribbled slices train, its scored slices' cells."""
    isbi = load_isbi(data)
    (volume,), (scribbles,), (truth,) = isbi.train_images, isbi.train_labels, isbi.train_truth
    return Task("em-cells", ["membrane", "cell interior"], 2, [volume[0], volume[1]], [scribbles[0], scribbles[1]],
                isbi.eval_images, isbi.eval_truth, [_grown_cells(t) for t in isbi.eval_truth],
                train_truth=[truth[0], truth[1]])


def _grown_cells(truth: np.ndarray) -> np.ndarray:
    """The cells of an ISBI truth plane (1 membrane, 2 cell interior): each interior piece grown
    into the membrane pixels nearest to it."""
    from skimage.segmentation import expand_labels

    interior = ndimage.label(truth == 2)[0].astype(np.int32)
    return np.where(truth == 1, expand_labels(interior, distance=max(truth.shape)), interior)


def _task(name: str, images: list[np.ndarray], instances: list[np.ndarray], data: Path,
          borders: bool = False) -> Task:
    """borders: a third class on the borders between touching objects, painted like the others."""
    simulate = _simulator(data)
    rng = np.random.default_rng(0)
    classes = [np.where(i > 0, 2, 1).astype(np.uint8) for i in instances]
    if borders:
        classes = [np.where(_shared_borders(i), 3, c).astype(np.uint8) for i, c in zip(instances, classes)]
    scribbles = [simulate.scribble_slice(c, fraction=0.006, width=3, length=60, rng=rng)
                 for c in classes[:TRAIN]]
    names = ["background", "object"] + (["border"] if borders else [])
    return Task(name, names, 2, images[:TRAIN], scribbles,
                images[TRAIN:], classes[TRAIN:], instances[TRAIN:], train_truth=classes[:TRAIN])


def _shared_borders(instances: np.ndarray) -> np.ndarray:
    """Object pixels next to another object (the dim lines _render draws between cells)."""
    edges = ndimage.morphological_gradient(instances, size=3) > 0
    inside = ndimage.grey_erosion(np.where(instances > 0, instances, instances.max() + 1), size=3)
    return edges & (instances > 0) & (inside <= instances.max())


def _simulator(data: Path):
    tool = Path(data).resolve().parent / "tools" / "simulate_scribbles.py"
    spec = importlib.util.spec_from_file_location("simulate_scribbles", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- synthetic kinds ------------------------------------------------------------------------
def _synthetic(name: str, data: Path) -> Task:
    make = {"blobs": _blobs, "organelles": _organelles, "cells": _cells, "cells-borders": _cells,
            "halo": _halo}[name]
    pairs = [make(np.random.default_rng(1000 + i)) for i in range(TRAIN + 10)]
    return _task(name, [p[0] for p in pairs], [p[1] for p in pairs], data, borders=name == "cells-borders")


def _render(instances: np.ndarray, rng: np.random.Generator, blur: float = 1.5,
            border: bool = False) -> np.ndarray:
    """A fluorescence-like uint8 image of labelled objects: per-object brightness, blur, noise."""
    n = int(instances.max())
    bright = np.concatenate([[0.15], rng.uniform(0.45, 1.0, n)])
    image = bright[instances]
    if border:   # touching cells: their shared borders dim
        edges = ndimage.morphological_gradient(instances, size=3) > 0
        image = np.where(edges & (instances > 0), 0.3 * image, image)
    image = ndimage.gaussian_filter(image, blur)
    image += ndimage.gaussian_filter(rng.normal(0, 0.08, image.shape), 1.0) + rng.normal(0, 0.05, image.shape)
    return np.clip(image * 200, 0, 255).astype(np.uint8)


def _place(shape, rng, n, draw, max_overlap: float = 1.0) -> np.ndarray:
    """Instances from up to n shapes drawn by draw(yy, xx, rng) -> bool mask; later shapes do not
    paint over earlier ones, so touching objects keep their own labels; a shape that would lose
    more than max_overlap of itself to earlier ones is left out."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    out = np.zeros(shape, np.int32)
    for i in range(1, n + 1):
        shape_i = draw(yy, xx, rng)
        region = shape_i & (out == 0)
        if region.sum() < (1 - max_overlap) * shape_i.sum():
            continue
        out[region] = i
    sizes = np.bincount(out.ravel())
    out[sizes[out] < 20] = 0
    return _renumber(out)


def _renumber(labels: np.ndarray) -> np.ndarray:
    ids = np.unique(labels[labels > 0])
    lut = np.zeros(labels.max() + 1, np.int32)
    lut[ids] = np.arange(1, len(ids) + 1)
    return lut[labels]


def _ellipse(yy, xx, cy, cx, a, b, angle):
    c, s = np.cos(angle), np.sin(angle)
    u, v = (yy - cy) * c + (xx - cx) * s, -(yy - cy) * s + (xx - cx) * c
    return (u / a) ** 2 + (v / b) ** 2 <= 1


def _blobs(rng):
    def draw(yy, xx, rng):
        r = rng.uniform(30, 55)
        return _ellipse(yy, xx, rng.uniform(0, 512), rng.uniform(0, 512), r, r * rng.uniform(0.75, 1), rng.uniform(0, np.pi))
    instances = _place((512, 512), rng, 16, draw, max_overlap=0.15)
    return _render(instances, rng, blur=2.0), instances


def _organelles(rng):
    def draw(yy, xx, rng):
        half = rng.uniform(2.5, 5)
        return _ellipse(yy, xx, rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(3, 6) * half, half,
                        rng.uniform(0, np.pi))
    instances = _place((256, 256), rng, 45, draw)
    return _render(instances, rng, blur=1.0), instances


def _cells(rng):
    """Packed cells about 36 px across: a Voronoi tessellation of a jittered grid of points
    inside a few rounded colonies, with the borders between cells dim."""
    from skimage.segmentation import watershed
    shape = (256, 256)
    grid = np.mgrid[8:256:36, 8:256:36].reshape(2, -1).T
    grid = grid + rng.uniform(-9, 9, grid.shape)
    points = np.clip(grid, 0, 255).astype(int)
    seeds = np.zeros(shape, np.int32)
    seeds[points[:, 0], points[:, 1]] = np.arange(1, len(points) + 1)
    colonies = ndimage.gaussian_filter(rng.normal(size=shape), 25) > 0
    cells = watershed(ndimage.distance_transform_edt(seeds == 0), seeds, mask=colonies)
    cells = np.where(ndimage.binary_opening(cells > 0, iterations=2), cells, 0)
    instances = _renumber(np.where(np.bincount(cells.ravel())[cells] >= 40, cells, 0))
    return _render(instances, rng, blur=1.0, border=True), instances


def _halo(rng):
    """Round cells 24-44 px across, brighter than the background with some texture, each in a
    brighter ring 6-9 px wide just outside it that fades outwards (phase contrast's halo)."""
    def draw(yy, xx, rng):
        r = rng.uniform(12, 22)
        return _ellipse(yy, xx, rng.uniform(0, 256), rng.uniform(0, 256), r, r * rng.uniform(0.7, 1),
                        rng.uniform(0, np.pi))
    instances = _place((256, 256), rng, 14, draw, max_overlap=0.0)
    cells = instances > 0
    outside = ndimage.distance_transform_edt(~cells)
    width = rng.uniform(6, 9)
    image = np.full(cells.shape, 0.3)
    image[cells] = 0.65 + ndimage.gaussian_filter(rng.normal(0, 0.15, cells.shape), 2)[cells]
    ring = (outside > 0) & (outside <= width)
    image[ring] = 0.95 - 0.3 * outside[ring] / width
    image = ndimage.gaussian_filter(image, 1.0)
    image += ndimage.gaussian_filter(rng.normal(0, 0.06, image.shape), 1.0) + rng.normal(0, 0.04, image.shape)
    return np.clip(image * 200, 0, 255).astype(np.uint8), instances


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description="List the held-out groups' image names, one per line.")
    parser.add_argument("--data", required=True, help="the shared data folder (holds pretrain-dsb2018)")
    print("\n".join(held_out_names(Path(parser.parse_args().data))))
