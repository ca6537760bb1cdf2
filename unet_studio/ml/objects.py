"""Objects (instances) from a predicted mask, scaled to the typical object size.

Every step is measured in units of one typical object diameter d, in pixels: measured from the
mask itself (measure_object_size) unless the user gives it (like Cellpose's "diameter"), so the
same defaults hold for 10 px nuclei and 110 px nuclei alike:

- islands whose equivalent diameter is under SPECK * d are dropped (false specks of the mask),
  unless the network is sure of them: their mean probability stands KEPT of the way from unsure
  (SURE) to 1 (ml/object_belief.py, as CORE below). Where objects vary tenfold in size (cells
  between the membranes of an EM image: axons beside dendrites), the small ones are as sure as
  the large; a false speck is not;
- holes smaller than one object are filled;
- touching objects are split by a watershed from the maxima of the distance to the background,
  smoothed over SMOOTH * d and standing out by HEIGHT * d above the seam to each neighbour
  (objects whose seam is shallower are one); where the object probability is given,
  the distance is weighted by how sure the network is, so the less certain seam between two
  touching objects is where they part;
- pieces under SPECK * d left by the split are dropped (but the sure islands);
- where the object probability is given, objects the network believes far less than the
  plane's surest objects are dropped: their mean probability stands less than CORE as far above
  unsure (SURE) as that of the plane's surest objects (the 90th percentile over objects) does:
  a darker patch of cytoplasm, a fold, a smear. Measured against the plane's own objects, a
  model early in training, sure of nothing yet, keeps its objects;
- where the user has a class for the borders between touching objects (painted borders, the
  membranes of an EM image), the objects are the pieces it encloses: they are not split by
  their shape (which cuts elongated and irregular cells), and a piece is a speck only under
  ENCLOSED_SPECK * d (cells between membranes range from thin axons to wide dendrites); in 3-D
  each slice's pieces are linked to those they overlap in the next (LINKED): as one volume they
  would join through the gaps between slices. They
  grow into the border pixels next to them (each to the nearest object, at most GROW * d), so
  their areas hold their share of the border, as the truth of touching cells does;
- the pixels of the mask the object probability puts under SURE part objects the same way. A
  network fine-tuned from the starting model keeps that model's boundary class (ml/unet.py):
  given as `boundary`, it lowers the object probability where it sees a boundary between
  objects (`object_probability`), so touching cells the user painted as one class, with no
  border class, still come apart. It decides where objects part and where seams run; whether
  an object is believed is judged on the class's own probability. It is read (`parting`)
  where the mask has joined objects into clumps: where the mask's pieces are CLUMPED times as
  wide as the objects the boundary leaves, and it leaves CUT times as many pieces of a quarter
  of those objects or more (a boundary that eats objects down to cores, or away, parts no
  clump: so on brightfield images, which the starting model does not know); and where it
  leaves them narrower but cuts few pieces of the mask apart and eats few away (the pieces of
  a quarter object or more number between 1 / CUT and CUT times the mask's): there it parts
  no object but guides the seams between touching ones, as in chains of nuclei pressed
  together, as wide as one. Elsewhere the boundary carves objects of a kind the starting model
  does not know (thin, elongated ones into pieces; cytoplasm into crumbs), and the mask already
  gives objects at their size.
  Where it cuts a piece of the mask into one object and thin rims, crescents or crumbs (an
  isolated nucleus whose mask spills over its edge: ml/object_shavings.py), those are not
  objects: the object grows into them as into the boundary.

A (Z, Y, X) mask is split plane by plane (one size for the whole stack, ids per plane), or, with
a z spacing, into 3-D objects that keep one id across slices.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from unet_studio.ml.label_maxima import label_maxima
from unet_studio.ml.object_belief import SURE, drop_unsure, object_means, sure_islands
from unet_studio.ml.object_joins import joined_where_shallow, linked_across_slices
from unet_studio.ml.object_shavings import shavings
from unet_studio.ml.piece_maxima import h_maxima

SPECK = 0.3      # islands narrower than this many object diameters are not objects
ENCLOSED_SPECK = 0.1   # ... or this many, for the pieces a border class encloses
SMOOTH = 0.05    # the distance map is smoothed over this many object diameters ...
HEIGHT = 0.07    # ... and a seed must stand this many diameters above the seam to its neighbour
LINKED = 0.5     # pieces of neighbouring slices are one object where their overlap covers this
                 # share of the smaller (3-D objects a border class encloses)
GROW = 0.15      # objects grow at most this many diameters into the border class (borders are thin)
CLUMPED = 1.5    # the mask's pieces this many times as wide as the objects the kept boundary
                 # leaves, and CUT times as many of them: the mask has joined them, the
                 # boundary parts them
CUT = 1.2        # the boundary leaves this many times as many pieces of a quarter object or
                 # more as the mask has (or this many times fewer): it carves objects it does
                 # not know


def object_probability(probability: np.ndarray, boundary: np.ndarray | None = None) -> np.ndarray:
    """The probability that a pixel is inside an object, which parts objects: the object class's
    `probability`, lowered where the starting model sees an object boundary (`boundary`, from a
    network that keeps its output layer: ml/unet.py; None: none)."""
    probability = np.asarray(probability, np.float32)
    if boundary is None:
        return probability
    return np.minimum(probability, 1 - np.asarray(boundary, np.float32))


def kept_boundary(boundary: np.ndarray | None, border_class: int | None) -> np.ndarray | None:
    """The kept boundary objects may part along: none where the user has a class of their own
    for the borders between objects, which parts them instead."""
    return None if border_class else boundary


class Parting(NamedTuple):
    """How the objects of a mask part: what `parting` decides, for find_objects."""
    boundary: np.ndarray | None     # the kept boundary objects part along, or None
    size: float | None              # the typical object size find_objects measures with it
    parted_by: np.ndarray | None    # with a boundary: the object probability objects part by


def parting(boundary: np.ndarray | None, border_class: int | None, foreground: np.ndarray,
            probability: np.ndarray | None, z_spacing: float | None = None) -> Parting:
    """How objects part in a plane (or volume, with z_spacing; or the samples of one) whose mask
    of the object class is `foreground`. The boundary: the `kept_boundary`, where the mask has
    joined objects into clumps or where it cuts few pieces apart (see the module docstring).
    Each size is measured once; in a volume with a border class, in its slices (find_objects
    links their objects)."""
    boundary = kept_boundary(boundary, border_class)
    z_spacing = _measured_spacing(z_spacing, bool(border_class))
    joined = None
    if boundary is not None and probability is not None:
        joined = measure_object_size(foreground, z_spacing)
        parted_by = _parting(foreground, probability, boundary, z_spacing)
        apart_mask = parted(foreground, parted_by)[0]
        apart = _size_of(apart_mask, z_spacing)
        if joined and apart and apart < joined:
            areas = _piece_areas(foreground, z_spacing), _piece_areas(apart_mask, z_spacing)
            ndim = foreground.ndim if z_spacing else 2
            if (joined >= CLUMPED * apart and _pieces_cut(*areas, apart, ndim, z_spacing) >= CUT) or \
                    1 / CUT <= _pieces_cut(*areas, joined, ndim, z_spacing) < CUT:
                return Parting(boundary, apart, parted_by)
    if probability is not None and (np.asarray(foreground, bool) & (np.asarray(probability) < SURE)).any():
        return Parting(None, measure_object_size(foreground, z_spacing, probability), None)   # parts by it alone
    return Parting(None, joined if joined is not None else measure_object_size(foreground, z_spacing), None)


def _piece_areas(mask: np.ndarray, z_spacing: float | None) -> np.ndarray:
    """The area (volume) of each connected piece of `mask` (each plane's, in a stack of planes
    without z_spacing)."""
    if np.ndim(mask) > 2 and z_spacing is None:
        return np.concatenate([_piece_areas(plane, None) for plane in np.reshape(mask, (-1,) + np.shape(mask)[-2:])])
    return np.bincount(ndimage.label(mask)[0].ravel())[1:]


def _pieces_cut(mask_areas: np.ndarray, apart_areas: np.ndarray, size: float, ndim: int,
                z_spacing: float | None) -> float:
    """How many times as many pieces of a quarter object (`size` across) or more the mask the
    boundary parted has (`apart_areas`: its pieces' areas) as the mask (`mask_areas`)."""
    smallest = object_volume(size, ndim, z_spacing) / 4
    return int((apart_areas >= smallest).sum()) / max(int((mask_areas >= smallest).sum()), 1)


def measure_object_size(foreground: np.ndarray, z_spacing: float | None = None,
                        probability: np.ndarray | None = None,
                        boundary: np.ndarray | None = None) -> float | None:
    """Typical object diameter in pixels of a mask (Y, X), (..., Y, X) planes, or (Z, Y, X)
    with z_spacing (in pixels: the distance between slices / the pixel size); None if empty.
    probability, boundary: as find_objects is given them; the pixels they put under SURE part objects.

    Each connected piece counts with its widest inscribed circle (twice the largest distance to
    the background), so touching objects that form one piece still count as one object wide;
    the median is taken over pixels, so a piece counts by its area and specks hardly at all.
    Holes smaller than an object are filled first (a ragged mask's holes would shrink it).
    """
    return _size_of(parted(foreground, _parting(foreground, probability, boundary, z_spacing))[0], z_spacing)


def _size_of(foreground: np.ndarray, z_spacing: float | None) -> float | None:
    """measure_object_size of a mask already parted."""
    size = _inscribed_diameter(foreground, z_spacing)
    if size is None:
        return None
    return _inscribed_diameter(_fill_holes(foreground, size, z_spacing), z_spacing)


def find_objects(foreground: np.ndarray, probability: np.ndarray | None = None, *,
                 object_size: float | None = None, z_spacing: float | None = None,
                 min_size: int = 4, borders: np.ndarray | None = None,
                 surest: float | None = None, boundary: np.ndarray | None = None,
                 parted_by: np.ndarray | None = None) -> np.ndarray:
    """Objects of a mask: int32 labels shaped like `foreground`, 0 = background, 1..n.

    foreground: (Y, X) bool, or (..., Y, X) planes (split one by one, numbered per plane), or
    (Z, Y, X) with z_spacing: 3-D objects, one id across slices. probability: the network's
    probability of the object class, same shape (optional; helps part touching objects).
    object_size: the typical object diameter in pixels (None: measured from the mask).
    min_size: no object is smaller than this many pixels, whatever the object size.
    borders: the pixels of a border class between touching objects, same shape (optional):
    given, the objects of a plane are the pieces they enclose, not split by their shape;
    the objects grow into them, as into the mask's pixels the object probability puts under
    SURE. surest: the mean probability of the surest objects, which sets the bar for dropping
    unsure ones (None: measured on these objects; surest_objects measures it where one plane
    is split in pieces). boundary: the starting model's boundary the network kept, same shape
    (optional; with a probability; see the module docstring). parted_by: `parting`'s, for this
    mask, probability, boundary and z spacing (None: computed here).
    """
    foreground = np.asarray(foreground, bool)
    for name, other in (("probability", probability), ("borders", borders), ("boundary", boundary),
                        ("parted_by", parted_by)):
        if other is not None and np.shape(other) != foreground.shape:
            raise ValueError(f"{name} {np.shape(other)} and mask {foreground.shape} differ in shape")
    if foreground.ndim < 2 or (z_spacing is not None and foreground.ndim != 3):
        raise ValueError(f"a mask (Y, X), (..., Y, X) or (Z, Y, X) with a z spacing is needed, not {foreground.shape}")
    # A border class: the objects are the pieces it encloses. In a volume they would join through
    # the gaps between slices: each slice's are found, then linked across slices.
    enclosed = borders is not None
    linked = enclosed and z_spacing is not None
    parting = _parting(foreground, probability, boundary, None if linked else z_spacing, parted_by)
    foreground, borders = parted(foreground, parting, borders)
    size = object_size if object_size is not None else \
        measure_object_size(foreground, _measured_spacing(z_spacing, enclosed))
    if size is None or not foreground.any():
        return np.zeros(foreground.shape, np.int32)
    if not linked and (z_spacing is not None or foreground.ndim == 2):
        return _objects(foreground, (probability, parting), float(size), z_spacing, min_size, borders, surest,
                        enclosed)
    out = np.zeros(foreground.shape, np.int32)
    for index in np.ndindex(foreground.shape[:-2]):
        both = (None, None) if probability is None else (probability[index], parting[index])
        out[index] = _objects(foreground[index], both, float(size), None, min_size,
                              None if borders is None else borders[index], enclosed=enclosed)
    return linked_across_slices(out, LINKED) if linked else out


def _measured_spacing(z_spacing: float | None, bordered: bool) -> float | None:
    """The z spacing the object size is measured with: none (the slices' sizes, pooled) where a
    border class encloses the objects, whose 3-D objects are linked from slice to slice."""
    return None if bordered else z_spacing


def _parting(foreground: np.ndarray, probability: np.ndarray | None, boundary: np.ndarray | None,
             z_spacing: float | None = None, given: np.ndarray | None = None) -> np.ndarray | None:
    """The object probability objects part by (None without a probability): none where the
    boundary shaves a piece of the mask it does not part (ml/object_shavings.py). z_spacing:
    `foreground` is one volume, not planes. given: Parting.parted_by of the same, as it is."""
    if given is not None and boundary is not None:
        return given
    if probability is None:
        return None
    parting = object_probability(probability, boundary)
    if boundary is None:
        return parting
    shaved = shavings(foreground, foreground & (parting < SURE), z_spacing)
    return np.where(shaved, np.float32(0), parting) if shaved.any() else parting


def surest_objects(foreground: np.ndarray, probability: np.ndarray, object_size: float,
                   min_size: int = 4, boundary: np.ndarray | None = None,
                   parted_by: np.ndarray | None = None) -> float | None:
    """The mean probability of the surest objects of a (Y, X) mask (the 90th percentile over
    its objects, before any is dropped): find_objects' `surest`, measured once for a plane
    whose pieces are split apart. None where there are no objects. parted_by: as for
    find_objects."""
    parting = _parting(foreground, probability, boundary, given=parted_by)
    probability = np.asarray(probability, np.float32)
    labels = _split(parted(foreground, parting)[0], (probability, parting), float(object_size), None, min_size)
    mean, present = object_means(labels, probability)
    return float(np.percentile(mean[present], 90)) if present.any() else None


def parted(foreground: np.ndarray, probability: np.ndarray | None,
           borders: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(foreground, borders): the mask's pixels the object probability puts under SURE moved
    from `foreground` to the `borders` objects grow into (unchanged without a probability)."""
    foreground = np.asarray(foreground, bool)
    if probability is None:
        return foreground, borders
    unsure = foreground & (np.asarray(probability) < SURE)
    if not unsure.any():
        return foreground, borders
    return foreground & ~unsure, unsure if borders is None else unsure | np.asarray(borders, bool)


def border_pixels(mask: np.ndarray, border_class: int | None, object_class: int) -> np.ndarray | None:
    """The pixels of `border_class` in a class mask (values 1..K), for find_objects' `borders`;
    None where there is no border class (or it is the object class itself)."""
    if not border_class or border_class == object_class:
        return None
    return np.asarray(mask) == border_class


def object_volume(diameter: float, ndim: int = 2, z_spacing: float | None = None) -> float:
    """Pixels (voxels) in a disc (ball) `diameter` px across."""
    if ndim == 2:
        return math.pi / 4 * diameter ** 2
    return math.pi / 6 * diameter ** 3 / (z_spacing or 1.0)


def _sampling(ndim: int, z_spacing: float | None) -> tuple[float, ...]:
    return (float(z_spacing),) + (1.0,) * (ndim - 1) if ndim == 3 and z_spacing else (1.0,) * ndim


def _inscribed_diameter(foreground: np.ndarray, z_spacing: float | None) -> float | None:
    if foreground.ndim > 2 and z_spacing is None:   # planes: each measured in 2-D, pooled
        flat = foreground.reshape((-1,) + foreground.shape[-2:])
        pieces = [_piece_widths(plane, None) for plane in flat if plane.any()]
        if not pieces:
            return None
        widths, areas = (np.concatenate(p) for p in zip(*pieces))
    else:
        if not foreground.any():
            return None
        widths, areas = _piece_widths(foreground, z_spacing)
    order = np.argsort(widths)
    cumulative = np.cumsum(areas[order])
    return float(widths[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _piece_widths(foreground: np.ndarray, z_spacing: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(2 x largest distance to the background, area) of each connected piece.

    Where the pieces' boxes cover under half the image, each is measured in its box grown by a
    pixel, the same distances: from any pixel of a piece, the first pixel past its edge along
    each axis is background (else the piece would reach it), and lies in that box."""
    pieces, n = ndimage.label(foreground)
    sampling = _sampling(foreground.ndim, z_spacing)
    boxes = [tuple(slice(max(s.start - 1, 0), min(s.stop + 1, size)) for s, size in zip(box, foreground.shape))
             for box in ndimage.find_objects(pieces)]
    if sum(math.prod(s.stop - s.start for s in box) for box in boxes) < foreground.size / 2:
        widths = np.array([2 * ndimage.distance_transform_edt(foreground[box], sampling=sampling)[pieces[box] == i].max()
                           for i, box in enumerate(boxes, start=1)])
    else:
        widths = 2 * label_maxima(ndimage.distance_transform_edt(foreground, sampling=sampling), pieces, n)[1:]
    return widths, np.bincount(pieces.ravel(), minlength=n + 1)[1:].astype(float)


def _fill_holes(foreground: np.ndarray, size: float, z_spacing: float | None) -> np.ndarray:
    limit = object_volume(size, foreground.ndim if z_spacing else 2, z_spacing)
    if foreground.ndim > 2 and z_spacing is None:
        return np.stack([~_drop_small(~p, limit) for p in foreground.reshape((-1,) + foreground.shape[-2:])]
                        ).reshape(foreground.shape)
    return ~_drop_small(~foreground, limit)


def _drop_small(labels: np.ndarray, smallest: float, spared: np.ndarray | None = None) -> np.ndarray:
    """Labels (or a mask: its connected pieces) with the pieces under `smallest` px set to 0
    (scikit-image's remove_small_objects, whose size parameter differs between versions),
    but those within the `spared` pixels."""
    pieces = ndimage.label(labels)[0] if labels.dtype == bool else labels
    small = np.bincount(pieces.ravel()) < smallest
    small[0] = False
    if spared is not None and spared.any():
        small[np.unique(pieces[spared])] = False
    return np.where(small[pieces], 0, labels).astype(labels.dtype)


def _objects(foreground: np.ndarray, probabilities: tuple, size: float,
             z_spacing: float | None, min_size: int, borders: np.ndarray | None = None,
             surest: float | None = None, enclosed: bool = False) -> np.ndarray:
    """One plane (or one 3-D volume with z_spacing): clean, seed, split, drop specks and unsure
    objects, grow into the borders. probabilities: (the class's, the one objects part by), or
    (None, None). enclosed: a border class encloses the objects (see find_objects)."""
    from skimage.segmentation import relabel_sequential

    probability, parting = probabilities
    probability = None if probability is None else np.asarray(probability, np.float32)
    labels = _split(foreground, (probability, parting), size, z_spacing, min_size, enclosed)
    if probability is not None:
        labels = drop_unsure(labels, probability, surest)
    labels = relabel_sequential(labels)[0].astype(np.int32)
    sampling = _sampling(foreground.ndim, z_spacing)
    return labels if borders is None else _grown_into(labels, np.asarray(borders, bool), size, sampling)


def _split(foreground: np.ndarray, probabilities: tuple, size: float,
           z_spacing: float | None, min_size: int, enclosed: bool = False) -> np.ndarray:
    """Clean, seed, split and drop specks: the objects before any is judged unsure.
    probabilities: (the class's, the one objects part by), or (None, None). enclosed: the
    pieces are the objects (a border class encloses them), with specks under ENCLOSED_SPECK."""
    from skimage.segmentation import watershed

    belief, probability = probabilities
    sampling = _sampling(foreground.ndim, z_spacing)
    speck = ENCLOSED_SPECK if enclosed else SPECK
    smallest = max(float(min_size), object_volume(speck * size, foreground.ndim, z_spacing))
    mask = _fill_holes(foreground, size, z_spacing)
    sure = sure_islands(mask, belief, smallest)
    mask = _drop_small(mask, smallest, sure)
    if not mask.any():
        return np.zeros(mask.shape, np.int32)
    if enclosed:
        return ndimage.label(mask)[0].astype(np.int32)
    height = ndimage.distance_transform_edt(mask, sampling=sampling).astype(np.float32)
    if probability is not None:
        height *= np.clip((probability - SURE) / (1 - SURE), 0, 1)
    sigma = [max(SMOOTH * size / s, 0.5) for s in sampling]
    height = ndimage.gaussian_filter(height, sigma)
    h = max(HEIGHT * size, 0.5)
    seeds, _ = ndimage.label(h_maxima(height, h) & mask)
    labels = joined_where_shallow(watershed(-height, seeds, mask=mask), height, h)
    # Pieces with no seed of their own (thin ones) are still objects.
    leftover, _ = ndimage.label(mask & (labels == 0))
    labels = np.where(leftover > 0, leftover + labels.max(), labels)
    return _drop_small(labels, smallest, sure)


def _grown_into(labels: np.ndarray, borders: np.ndarray, size: float, sampling) -> np.ndarray:
    """`labels` grown into the `borders` pixels within GROW diameters, each to its nearest object."""
    from skimage.segmentation import expand_labels

    if not borders.any() or not labels.any():
        return labels
    grown = expand_labels(labels, distance=max(GROW * size, 1.0), spacing=sampling)
    return np.where(borders & (labels == 0), grown, labels).astype(np.int32)
