import numpy as np
from scipy import ndimage

from unet_studio.ml.label_maxima import label_maxima


def test_the_largest_value_of_each_label_is_scipys_including_labels_with_no_pixels():
    rng = np.random.default_rng(3)
    for shape in [(40, 50), (6, 20, 30)]:
        values = rng.normal(size=shape).astype(np.float32) - 2   # all below 0 mostly: not an init of 0
        labels = rng.integers(0, 30, size=shape)
        labels[labels == 7] = 0                                  # a label with no pixels
        n = 31                                                   # and two past the largest present
        expected = np.asarray(ndimage.maximum(values, labels, np.arange(n + 1)), np.float64)
        np.testing.assert_array_equal(label_maxima(values, labels, n), expected)
        assert label_maxima(values, labels, n)[7] == 0 and label_maxima(values, labels, n)[31] == 0


def test_the_piece_of_the_mask_each_piece_was_cut_from():
    whole = np.zeros((8, 12), int)
    whole[1:4, 1:5], whole[5:7, 6:11] = 1, 2
    pieces = np.zeros_like(whole)
    pieces[1:4, 1:2], pieces[1:4, 3:5], pieces[5:7, 8:11] = 1, 2, 3
    assert label_maxima(whole, pieces, 3).tolist() == [2.0, 1.0, 1.0, 2.0]
