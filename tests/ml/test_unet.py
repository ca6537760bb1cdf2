"""The network: shapes for each padding mode and norm, and the printable summary."""
from __future__ import annotations

import pytest
import torch

from unet_studio.ml.unet import UNet, summarise, summary_text


@pytest.mark.parametrize("norm", ["batch", "group", "none"])
def test_same_padding_keeps_the_size_and_gives_one_logit_per_class(norm):
    net = UNet(in_channels=3, n_classes=4, depth=2, width=8, norm=norm)
    out = net(torch.zeros(2, 3, 48, 64))
    assert out.shape == (2, 4, 48, 64)


def test_valid_padding_loses_the_paper_margin():
    # The paper's network: 572 px in, 388 px out.
    net = UNet(1, 2, depth=4, width=2, padding="valid")
    assert net.output_size(572) == 388
    assert net.margin() == 92
    out = net(torch.zeros(1, 1, 188, 188))
    assert out.shape[-2:] == (net.output_size(188),) * 2


def test_sizes_the_network_cannot_take_are_rejected():
    net = UNet(1, 2, depth=3, width=4)
    with pytest.raises(ValueError):
        net.output_size(50)  # not a multiple of 8
    assert net.input_size_for(50) == 56
    with pytest.raises(ValueError):
        UNet(1, 2, norm="layer")


def test_summary_lists_blocks_shapes_and_parameter_total():
    net = UNet(1, 2, depth=3, width=8)
    rows = summarise(net, (1, 64, 64))
    names = [r.name for r in rows]
    assert names[:2] == ["input", "inc"] and names[-1] == "outc"
    assert rows[-1].output_shape == (1, 2, 64, 64)
    assert sum(r.params for r in rows) == sum(p.numel() for p in net.parameters())
    text = summary_text(net, (1, 64, 64))
    assert "total parameters" in text and "(1, 64, 8, 8)" in text


def test_a_kept_starting_head_adds_the_boundary_map_after_the_classes():
    torch.manual_seed(0)
    net = UNet(1, 2, depth=2, width=4, starting_head=3).eval()
    assert net.arch["starting_head"] == 3 and net.n_outputs == 3
    x = torch.randn(2, 1, 32, 32)
    maps = net.probabilities(x)
    assert maps.shape == (2, 3, 32, 32)
    torch.testing.assert_close(maps[:, :2], torch.softmax(net(x), 1))   # the user's classes, as before
    boundary = torch.softmax(net.starting_head(net.features(x)), 1)[:, 2]
    torch.testing.assert_close(maps[:, 2], boundary)
    net.keep_starting_head(None)
    assert net.n_outputs == 2 and "starting_head" not in net.arch and net.probabilities(x).shape[1] == 2
