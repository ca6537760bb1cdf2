"""Objects from masks (ml/objects.py): counts that hold for small and large objects alike."""
import numpy as np
import pytest
from scipy import ndimage

from unet_studio.ml.objects import find_objects, measure_object_size, object_probability, parting
from unet_studio.ml.predict import Prediction, split_instances


def discs(shape, centres, radius):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    out = np.zeros(shape, bool)
    for cy, cx in centres:
        out |= (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
    return out


def grid(n_rows, n_cols, step, offset):
    return [(offset + r * step, offset + c * step) for r in range(n_rows) for c in range(n_cols)]


def ragged(diameter, specks, seed=0):
    """A mask of round objects `diameter` px across on a grid, with holes inside them and
    false specks between them, as a predicted mask has; and the true count."""
    rng = np.random.default_rng(seed)
    step = int(diameter * 1.6)
    centres = grid(3, 4, step, step // 2)
    shape = (3 * step, 4 * step)
    mask = discs(shape, centres, diameter / 2)
    hole = max(1.0, diameter / 12)
    mask &= ~discs(shape, [(cy + rng.integers(-diameter // 5, diameter // 5 + 1), cx) for cy, cx in centres], hole)
    # Specks between the objects (corners of the grid cells), a few px across at most.
    speck_r = max(1.0, diameter * 0.08)
    corners = [(cy + step // 2, cx + step // 2) for cy, cx in centres[:-1]]
    mask |= discs(shape, corners[:specks], speck_r)
    return mask, len(centres)


@pytest.mark.parametrize("diameter", [10, 100])
def test_counts_are_exact_for_small_and_large_objects_with_specks_and_holes(diameter):
    mask, n = ragged(diameter, specks=8)
    labels = find_objects(mask)
    assert labels.max() == n
    assert labels.dtype == np.int32
    # Each object is whole: the holes are filled, so an object is as large as its disc.
    areas = np.bincount(labels.ravel())[1:]
    assert np.all(np.abs(areas - np.pi * diameter ** 2 / 4) < 0.1 * np.pi * diameter ** 2 / 4)
    assert split_instances(mask).max() == n


def test_object_size_is_measured_from_the_larger_pieces():
    mask, _ = ragged(40, specks=8)
    assert measure_object_size(mask) == pytest.approx(40, rel=0.05)
    # Two touching discs are one piece, but one object wide.
    pair = discs((100, 160), [(50, 50), (50, 100)], 30)
    assert measure_object_size(pair) == pytest.approx(60, rel=0.05)
    assert measure_object_size(np.zeros((20, 20), bool)) is None


@pytest.mark.parametrize("radius", [6, 50])
def test_two_touching_discs_are_two_objects(radius):
    gap = int(radius * 1.6)   # centres closer than two radii: the discs overlap
    pair = discs((4 * radius, 5 * radius), [(2 * radius, 1.5 * radius), (2 * radius, 1.5 * radius + gap)], radius)
    labels = find_objects(pair)
    assert labels.max() == 2
    left, right = labels[2 * radius, int(1.5 * radius)], labels[2 * radius, int(1.5 * radius) + gap]
    assert {left, right} == {1, 2}


@pytest.mark.parametrize("radius", [10, 20, 40])
def test_a_peanut_with_a_shallow_waist_is_one_object(radius):
    """Two tops of equal height (a symmetric shape: the same value to the last bit) whose seam
    lies less than a seed's height (0.07 object diameters) below them are one object, as are
    tops of different heights; skimage's h_maxima kept both as seeds."""
    gap = int(radius * 0.8)   # the waist lies 0.08 radii below the tops
    peanut = discs((4 * radius, 5 * radius), [(2 * radius, 2 * radius), (2 * radius, 2 * radius + gap)], radius)
    labels = find_objects(peanut, object_size=2 * radius)
    assert labels.max() == 1
    assert labels[peanut].min() == 1


def test_a_given_object_size_keeps_what_the_measured_one_drops():
    yy, xx = np.mgrid[:60, :90]
    fg = discs((60, 90), [(30, 30)], 15) | discs((60, 90), [(30, 56)], 13) | discs((60, 90), [(8, 80)], 4)
    # Measured: the two touching discs (30 px across) make the 8 px disc a speck.
    assert find_objects(fg).max() == 2
    # Told that objects are 20 px across, the 8 px disc is an object too.
    assert find_objects(fg, object_size=20).max() == 3
    assert split_instances(fg, object_size=20).max() == 3


def test_small_objects_the_network_is_sure_of_are_kept_beside_large_ones():
    """Cells between EM membranes: 12 px axons beside 80 px dendrites. The measured size is the
    large ones'; the small ones are objects all the same where the network is as sure of them,
    while specks it is unsure of are dropped."""
    shape = (200, 420)
    large = discs(shape, [(55, 60), (55, 200), (55, 340)], 40)
    small = discs(shape, [(140, 40 + 65 * i) for i in range(6)], 6)
    specks = discs(shape, [(185, 30 + 60 * i) for i in range(6)], 4)
    mask = large | small | specks
    probability = np.where(large | small, 0.97, 0.03).astype(np.float32)
    probability[specks] = 0.7
    assert find_objects(mask).max() == 3                    # the mask alone: small ones are specks
    labels = find_objects(mask, probability)
    assert labels.max() == 9
    assert not labels[specks].any()
    assert len(np.unique(labels[small])) == 6


def test_min_size_is_a_floor_whatever_the_object_size():
    fg = discs((40, 40), [(20, 20)], 3)
    assert find_objects(fg, object_size=4, min_size=4).max() == 1
    assert find_objects(fg, object_size=4, min_size=50).max() == 0


def test_the_probability_parts_objects_the_mask_has_merged():
    # One capsule-shaped piece with no dent, but the network is unsure along its middle.
    shape = (60, 120)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    mask = (np.abs(yy - 30) <= 18) & (np.abs(xx - 60) <= 40)
    probability = np.where(mask, 0.95, 0.05).astype(np.float32)
    probability[:, 57:63] = np.where(mask[:, 57:63], 0.55, 0.05)
    assert find_objects(mask).max() == 1
    assert find_objects(mask, probability).max() == 2
    pred = Prediction(np.stack([1 - probability, probability]))
    assert pred.instances(2).max() == 2
    assert pred.instances(2, object_size=36).max() == 2


@pytest.mark.parametrize("diameter", [10, 60])
def test_pieces_believed_far_less_than_the_others_are_not_objects(diameter):
    # Six objects: three with a sure core and an unsure rim, three believed by half throughout
    # (a darker patch of cytoplasm called nucleus), all inside the mask.
    step = int(diameter * 1.6)
    centres = grid(2, 3, step, step // 2)
    shape = (2 * step, 3 * step)
    mask = discs(shape, centres, diameter / 2)
    probability = np.where(mask, 0.6, 0.1).astype(np.float32)
    probability[discs(shape, centres[:3], diameter / 2 * 0.8)] = 0.95
    assert find_objects(mask).max() == 6
    labels = find_objects(mask, probability)
    assert labels.max() == 3
    assert set(np.unique(labels[discs(shape, centres[:3], diameter / 4)])) == {1, 2, 3}
    assert not labels[mask & ~discs(shape, centres[:3], diameter / 2 + 1)].any()
    # The same through a prediction's objects.
    assert Prediction(np.stack([1 - probability, probability])).instances(2).max() == 3


def test_a_model_sure_of_nothing_yet_keeps_its_objects():
    # Early in training every object is a soft bump that barely passes 0.5: none is dropped.
    mask = discs((96, 144), grid(2, 3, 48, 24), 15)
    yy, xx = np.mgrid[:96, :144]
    centre_distance = np.min([np.hypot(yy - cy, xx - cx) for cy, cx in grid(2, 3, 48, 24)], axis=0)
    probability = np.where(mask, 0.68 - 0.17 * centre_distance / 15, 0.3).astype(np.float32)
    assert find_objects(mask, probability).max() == 6


def test_planes_are_split_one_by_one_and_numbered_per_plane():
    plane = discs((80, 80), grid(2, 2, 40, 20), 12)
    stack = np.stack([plane, plane[:, ::-1], np.zeros_like(plane)])
    labels = find_objects(stack)
    assert labels.shape == stack.shape
    assert [labels[z].max() for z in range(3)] == [4, 4, 0]


def test_3d_objects_keep_one_id_across_slices():
    zz, yy, xx = np.mgrid[:12, :80, :80]
    centres = [(6, 20, 20), (6, 20, 60), (6, 60, 40)]
    # Spheres 30 px across in x and y, with slices 3 px apart (radius 5 slices).
    volume = np.zeros((12, 80, 80), bool)
    for cz, cy, cx in centres:
        volume |= ((zz - cz) * 3.0) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2 <= 15 ** 2
    labels = find_objects(volume, z_spacing=3.0)
    assert labels.max() == 3
    for cz, cy, cx in centres:
        ids = np.unique(labels[:, cy, cx][volume[:, cy, cx]])
        assert len(ids) == 1 and ids[0] > 0   # the same object on every slice it crosses
        assert (volume[:, cy, cx]).sum() >= 9
    assert len({labels[cz, cy, cx] for cz, cy, cx in centres}) == 3


def test_shapes_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="shape"):
        find_objects(np.zeros((10, 10), bool), np.zeros((10, 11), np.float32))
    with pytest.raises(ValueError, match="z spacing"):
        find_objects(np.zeros((10, 10), bool), z_spacing=2.0)


def _two_cells_and_their_border():
    """Two 20 x 20 cells side by side, parted by a border 2 px wide (x 30-31)."""
    interior = np.zeros((40, 64), bool)
    interior[10:30, 10:30] = interior[10:30, 32:52] = True
    border = np.zeros_like(interior)
    border[10:30, 30:32] = True
    return interior, border


def test_objects_grow_into_the_border_class_between_them():
    interior, border = _two_cells_and_their_border()
    alone = find_objects(interior, object_size=20)
    grown = find_objects(interior, object_size=20, borders=border)
    assert alone.max() == grown.max() == 2
    assert np.array_equal(grown > 0, interior | border)               # the border is shared out
    assert sorted(np.bincount(grown.ravel())[1:]) == [420, 420]       # each takes its half
    assert sorted(np.bincount(alone.ravel())[1:]) == [400, 400]
    far = np.zeros_like(border)
    far[0:2, 60:64] = True                                             # border pixels far from any object
    assert np.array_equal(find_objects(interior, object_size=20, borders=far), alone)


def test_a_prediction_with_a_border_class_gives_grown_objects():
    interior, border = _two_cells_and_their_border()
    probabilities = np.stack([~(interior | border), interior, border]).astype(np.float32) * 0.9 + 0.1 / 3
    prediction = Prediction(probabilities)
    assert (prediction.instances(2) > 0).sum() == 800
    assert (prediction.instances(2, border_class=3) > 0).sum() == 840


def test_cells_a_border_class_encloses_are_not_split_by_their_shape():
    """Cells between EM membranes: a dumbbell-shaped cell (two wide parts, a narrow neck) and a
    small one beside a large one. Without a border class the shape splits the dumbbell and
    drops the small cell as a speck; enclosed by membranes, each piece is one cell."""
    shape = (120, 200)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    dumbbell = discs(shape, [(60, 40), (60, 110)], 28) | ((np.abs(yy - 60) <= 6) & (xx >= 40) & (xx <= 110))
    small = discs(shape, [(60, 175)], 6)
    cells = dumbbell | small
    membrane = ndimage.binary_dilation(cells, iterations=3) & ~cells
    assert find_objects(cells).max() == 2                  # the dumbbell in two, the small cell dropped
    labels = find_objects(cells, borders=membrane)
    assert labels.max() == 2
    assert len(np.unique(labels[dumbbell])) == 1 and len(np.unique(labels[small])) == 1
    assert labels[dumbbell].min() > 0 and labels[small].min() > 0
    assert np.array_equal(labels > 0, cells | membrane)     # the membranes shared out between them


def test_cells_between_membranes_keep_one_id_from_slice_to_slice():
    """A stack of EM sections: a dumbbell-shaped cell drifting 2 px per slice through six slices,
    a round cell in the first three and another elsewhere in the last three. Each slice's cells
    are the pieces the membranes enclose, linked to the piece they overlap in the next slice:
    three cells, the dumbbell whole (a 3-D split by shape cut it at its neck)."""
    n, shape = 6, (120, 260)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    cells = np.zeros((n,) + shape, bool)
    dumbbell, first, last = (np.zeros_like(cells) for _ in range(3))
    for z in range(n):
        dx = 2 * z
        dumbbell[z] = discs(shape, [(40, 40 + dx), (40, 110 + dx)], 24) | \
            ((np.abs(yy - 40) <= 5) & (xx >= 40 + dx) & (xx <= 110 + dx))
        if z < 3:
            first[z] = discs(shape, [(95, 200)], 16)
        else:
            last[z] = discs(shape, [(40, 220)], 16)
    cells = dumbbell | first | last
    membrane = np.stack([ndimage.binary_dilation(c, iterations=3) & ~c for c in cells])
    labels = find_objects(cells, z_spacing=2.0, borders=membrane)
    assert labels.max() == 3
    for cell in (dumbbell, first, last):
        assert len(np.unique(labels[cell])) == 1 and labels[cell].min() > 0
    assert len({labels[dumbbell][0], labels[first][0], labels[last][0]}) == 3


def _clump_of_cells():
    """3 x 3 cells of 20 px packed with no gap, one piece of the user's class, and the lines
    between them, where a kept starting model would see their boundaries."""
    cells = np.zeros((84, 84), bool)
    cells[10:74, 10:74] = True
    lines = np.zeros_like(cells)
    for at in (30, 52):
        lines[at:at + 2, 10:74] = lines[10:74, at:at + 2] = True
    return cells, lines


def test_the_starting_models_boundary_parts_a_clump_of_cells_painted_as_one_class():
    """No border class: where the kept starting model sees the boundaries in a clump the mask
    joined, the cells part, and each takes its share of the lines back."""
    cells, lines = _clump_of_cells()
    probabilities = np.stack([~cells, cells]).astype(np.float32) * 0.9 + 0.05
    boundary = np.where(lines, 0.8, 0.05).astype(np.float32)
    assert Prediction(probabilities).instances(2).max() == 1          # one piece
    prediction = Prediction(probabilities, boundary=boundary)
    assert prediction.objects_boundary(2) is boundary
    parted = prediction.instances(2)
    assert parted.max() == 9 and np.array_equal(parted > 0, cells)
    assert np.bincount(parted.ravel())[1:].min() >= 400
    assert measure_object_size(cells, probability=probabilities[1], boundary=boundary) == pytest.approx(20, abs=1)
    # Objects part by the class's probability lowered where the starting model sees a boundary ...
    np.testing.assert_allclose(object_probability(probabilities[1], boundary), np.minimum(probabilities[1], 1 - boundary))
    # ... and are judged by the class's own: the boundary does not make a cell less believed.
    rim = np.zeros_like(cells)
    rim[10:30, 10:30] = True
    rim[14:26, 14:26] = False      # a boundary seen all along one cell's rim, 4 px wide
    assert find_objects(cells, probabilities[1], object_size=20, boundary=np.where(rim | lines, 0.9, 0.05)).max() == 9
    # A border class of the user's own parts the objects instead: the boundary is not read.
    assert prediction.objects_boundary(2, border_class=3) is None


def test_the_boundary_is_not_read_where_the_mask_gives_objects_at_their_size():
    """Two cells side by side are as wide as one: the mask has not joined them into a clump,
    and a boundary seen across objects of their size would only cut them."""
    interior, border = _two_cells_and_their_border()
    cells = interior | border
    probabilities = np.stack([~cells, cells]).astype(np.float32) * 0.9 + 0.05
    boundary = np.where(border, 0.8, 0.05).astype(np.float32)
    assert Prediction(probabilities, boundary=boundary).objects_boundary(2) is None
    # Told to, find_objects parts them all the same.
    assert find_objects(cells, probabilities[1], object_size=20, boundary=boundary).max() == 2


def test_a_boundary_that_eats_objects_away_without_parting_any_is_not_read():
    """Cells the starting model does not know: the boundary it sees runs inside each cell's rim
    and covers two cells whole. The cores it leaves are far narrower than the mask's pieces
    (as in a clump), but it parts no piece in two: it is not read, and each cell is one object.
    Read, it would lose the two cells it covers."""
    yy, xx = np.mgrid[:120, :240]
    mask, covered = np.zeros((120, 240), bool), np.zeros((120, 240), bool)
    for n, (cy, cx) in enumerate(((30, 40), (30, 120), (30, 200), (90, 40), (90, 120), (90, 200))):
        cell = ((xx - cx) / 34) ** 2 + ((yy - cy) / 12) ** 2 <= 1
        mask |= cell
        covered |= cell if n in (1, 4) else False
    probabilities = np.stack([~mask, mask]).astype(np.float32) * 0.9 + 0.05
    rim = mask & (ndimage.distance_transform_edt(mask) <= 5)
    boundary = np.where(rim | covered, 0.8, 0.05).astype(np.float32)
    cores = measure_object_size(mask, probability=probabilities[1], boundary=boundary)
    assert measure_object_size(mask) >= 1.5 * cores                   # as narrow as in a clump
    assert find_objects(mask, probabilities[1], object_size=cores, boundary=boundary).max() == 4   # read: 2 lost
    prediction = Prediction(probabilities, boundary=boundary)
    assert prediction.objects_boundary(2) is None
    objects = prediction.instances(2)
    assert objects.max() == 6 and np.array_equal(objects > 0, mask)


def test_a_faint_boundary_between_nuclei_pressed_into_chains_parts_them():
    """Pairs of nuclei pressed together into chains as wide as one, with no neck: the mask has
    not joined them into clumps wider than an object, but the starting model sees their rims
    (where the mask spills past them) and a faint boundary between them: it leaves the pieces
    narrower and cuts none apart. Read, it guides the seam: two nuclei each."""
    mask, seam = np.zeros((60, 200), bool), np.zeros((60, 200), bool)
    yy, xx = np.mgrid[:60, :200]
    for cx in (25, 75, 125, 175):
        pair = (np.hypot(yy - 30, xx - cx + 6) < 10) | (np.hypot(yy - 30, xx - cx - 6) < 10)
        chain = ndimage.binary_dilation(pair, iterations=2)
        mask |= chain
        seam |= chain & (np.abs(xx - cx) <= 1)
    probabilities = np.stack([~mask, mask]).astype(np.float32) * 0.9 + 0.05
    rim = mask & ~ndimage.binary_erosion(mask)
    boundary = np.where(rim, 0.6, np.where(seam, 0.45, 0.05)).astype(np.float32)
    assert ndimage.label(mask & (object_probability(probabilities[1], boundary) >= 0.5))[1] == 4   # uncut
    assert Prediction(probabilities).instances(2).max() == 4          # the shape alone: one per chain
    prediction = Prediction(probabilities, boundary=boundary)
    assert prediction.objects_boundary(2) is boundary
    assert prediction.instances(2).max() == 8


def test_a_boundary_seen_inside_the_mask_of_a_nucleus_does_not_cut_off_its_halo_as_an_object():
    """A mask that spills over each isolated nucleus's edge on one side (a halo): the starting
    model sees the nucleus's edge inside the mask, cutting it into the nucleus, a crescent of
    halo and a crumb. Nothing there parts two objects: each nucleus is one object, the size of
    the nucleus, not of its halo, while the clump beside them still parts along its lines."""
    cells, lines = _clump_of_cells()
    mask, boundary = np.pad(cells, ((0, 0), (0, 100))), np.pad(lines, ((0, 0), (0, 100)))
    yy, xx = np.mgrid[:mask.shape[0], :mask.shape[1]]
    nuclei = []
    for cy, cx in ((14, 110), (42, 160), (70, 110)):
        nucleus = np.hypot(yy - cy - 4, xx - cx) < 8
        halo = np.hypot(yy - cy, xx - cx) <= 12            # the mask: the nucleus and a crescent above it
        edge = np.hypot(yy - cy - 4, xx - cx)
        mask |= halo | nucleus
        boundary |= halo & (edge >= 8) & (edge <= 9.5)
        nuclei.append(nucleus)
    crumb = np.hypot(yy - 4, xx - 110) <= 2.5                 # a crumb cut out of a crescent
    boundary |= crumb & ~(np.hypot(yy - 4, xx - 110) <= 1)
    probabilities = np.stack([~mask, mask]).astype(np.float32) * 0.9 + 0.05
    boundary = np.where(boundary, 0.9, 0.05).astype(np.float32)
    assert ndimage.label(mask & (object_probability(probabilities[1], boundary) >= 0.5))[1] == 9 + 2 * 3 + 1
    prediction = Prediction(probabilities, boundary=boundary)
    assert prediction.objects_boundary(2) is not None        # the clump is read as one
    objects = prediction.instances(2)
    assert objects.max() == 9 + 3
    for nucleus in nuclei:
        inside = np.unique(objects[nucleus])
        assert len(inside) == 1 and inside[0] > 0
        found = objects == inside[0]
        assert (found & nucleus).sum() / (found | nucleus).sum() > 0.5   # matched, as benchmarks match
    # What parting computed (the object probability, its shavings set apart) is handed on, not
    # computed again by find_objects: the same objects.
    parts = parting(boundary, None, mask, probabilities[1])
    assert parts.boundary is boundary and parts.size == pytest.approx(16, abs=5)
    shaved = parts.parted_by < object_probability(probabilities[1], boundary)
    assert shaved.sum() > 0 and not (shaved & ~mask).any()
    assert np.array_equal(find_objects(mask, probabilities[1], object_size=parts.size, boundary=boundary,
                                       parted_by=parts.parted_by), objects)
