"""The synthetic EM sections the starting model learns from (packaging/starting_model/em.py)."""
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging" / "starting_model"))
import em  # noqa: E402
from em import em_section  # noqa: E402
from synthetic import BOUNDARY, INTERIOR  # noqa: E402


@pytest.fixture(scope="module")
def sections():
    rng = np.random.default_rng(0)
    return [em_section(128, rng) for _ in range(4)]


def test_the_same_seed_makes_the_same_section():
    a, b = em_section(96, np.random.default_rng(7)), em_section(96, np.random.default_rng(7))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_membranes_separate_many_cells(sections):
    for image, target in sections:
        assert image.shape == target.shape == (128, 128) and image.dtype == np.float32
        assert set(np.unique(target)) == {INTERIOR, BOUNDARY}
        assert 0.05 < (target == BOUNDARY).mean() < 0.6
        _, n_cells = ndimage.label(target == INTERIOR)
        assert n_cells >= 4


def test_membranes_are_darker_than_the_cells_on_average(sections):
    for image, target in sections:
        assert image[target == BOUNDARY].mean() < image[target == INTERIOR].mean()


def test_organelles_darken_only_the_inside_of_one_cell():
    """Mitochondria and vesicles are the distractors, labeled interior: they must never touch
    a membrane or spill into the next cell, or their label would be wrong."""
    size = 128
    cells = np.ones((size, size), np.int32)
    cells[:, 64:] = 2
    interior = np.ones((size, size), bool)
    interior[:, 62:66] = False        # the membrane between the two cells
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    darkened = np.zeros((size, size), bool)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        flat = np.ones((size, size), np.float32)
        mito = em._mitochondria(flat, cells, interior, size, rng, yy, xx) < 1
        vesicles = em._vesicles(flat, interior, size, rng) < 1
        darkened |= mito | vesicles
        assert not (mito | vesicles)[~interior].any()
        pieces, n = ndimage.label(mito)
        for k in range(1, n + 1):
            assert len(np.unique(cells[pieces == k])) == 1
    assert darkened[:, :62].any() and darkened[:, 66:].any()


def _patchy_cells(seed: int) -> np.ndarray:
    """Cell labels with many pieces per cell and many corners: blocks of random values."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(1, 6, (12, 10))
    return np.kron(blocks, np.ones((3, 4), np.int64))[: 33, : 37].astype(np.int32)


@pytest.mark.parametrize("seed", range(4))
def test_junctions_are_where_a_window_holds_three_or_more_cells(seed):
    cells = _patchy_cells(seed)
    by_definition = ndimage.generic_filter(cells, lambda v: len(np.unique(v)) >= 3, size=3) > 0
    assert by_definition.any() and not by_definition.all()
    assert np.array_equal(em._where_three_cells_meet(cells), by_definition)


@pytest.mark.parametrize("seed", range(4))
def test_each_piece_of_a_cell_is_numbered_as_one_label_per_cell_would(seed):
    cells = _patchy_cells(seed)
    expected, nxt = np.zeros_like(cells), 1
    for i in np.unique(cells):
        parts, k = ndimage.label(cells == i)
        expected[parts > 0] = parts[parts > 0] + nxt - 1
        nxt += k
    assert nxt - 1 > len(np.unique(cells))        # some cell is in pieces
    assert np.array_equal(em._number_each_piece(cells), expected)
