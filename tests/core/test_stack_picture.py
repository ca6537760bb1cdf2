"""Pictures: a grey one stored as colour is one channel; a GIF of one frame is that frame."""
from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from unet_studio.core.errors import StackError
from unet_studio.core.stack import open_stack


def grey(shape=(20, 30)):
    return (np.arange(np.prod(shape)) % 256).astype(np.uint8).reshape(shape)


@pytest.mark.parametrize("name", ["grey.png", "grey.gif", "grey.bmp"])
def test_a_grey_picture_stored_as_colour_is_one_channel(tmp_path, name):
    iio.imwrite(tmp_path / name, np.stack([grey()] * 3, axis=-1))
    with open_stack(tmp_path / name) as stack:
        assert stack.n_c == 1 and stack.shape == (20, 30)
        assert np.array_equal(stack.plane()[0], grey())


def test_a_colour_picture_keeps_its_channels(tmp_path):
    colour = np.stack([grey(), grey()[::-1], np.zeros((20, 30), np.uint8)], axis=-1)
    iio.imwrite(tmp_path / "colour.png", colour)
    with open_stack(tmp_path / "colour.png") as stack:
        assert stack.n_c == 3 and np.array_equal(stack.plane()[1], grey()[::-1])


def test_a_gif_of_several_frames_says_how_to_bring_it_in(tmp_path):
    iio.imwrite(tmp_path / "movie.gif", np.stack([np.stack([grey()] * 3, -1), np.stack([grey()[::-1]] * 3, -1)]))
    with pytest.raises(StackError, match="movie.gif: a picture of 2 frames, which is read here only as a TIFF"):
        open_stack(tmp_path / "movie.gif")
