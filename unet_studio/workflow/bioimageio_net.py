"""The network a bioimage.io package runs: our U-Net as one plain torch module, image in,
class probabilities out, and its source as one standalone file for the package.

A bioimage.io consumer (bioimageio.core, ilastik, deepImageJ) gives the network a normalised
tile and takes what comes out as the result, so what our prediction adds around the U-Net
(ml/tiling.py) lives in `ProbabilityNet`: the tile's border mirrored before the network sees
it, the class shift (ml/class_shares.py) and the softmax. With one view and a tile that fits
the plane, it gives what predict_plane gives.

Only torch here: `architecture_source()` copies this module's network class and the U-Net's
blocks (ml/unet.py) into one file that runs without unet_studio installed.
"""
from __future__ import annotations

import inspect

import torch
from torch import nn
from torch.nn import functional as F

from unet_studio.ml import unet as unet_module
from unet_studio.ml.tiling import InferenceNet
from unet_studio.ml.unet import UNet

# Mirrored pixels around the tile ("same" padding), as our own tiles have (InferenceNet.border).
BORDER = InferenceNet.border


class ProbabilityNet(nn.Module):
    """(N, C, Y, X) normalised image -> (N, K, Y, X) class probabilities, summing to 1 over K.

    Y and X: see `sizes(...)`. The input is mirrored at its edges by `border` px ("same"
    padding) or by the network's margin ("valid"), so the output is the input's size.
    class_shift (K,): the U-Net's output layer shift (OutConv), added to the logits.
    """

    def __init__(self, in_channels: int, n_classes: int, depth: int = 4, width: int = 16,
                 norm: str = "batch", padding: str = "same", class_shift: list | None = None,
                 border: int = 16):
        super().__init__()
        self.unet = UNet(in_channels, n_classes, depth, width, norm, padding)
        if class_shift is not None:
            self.unet.outc.class_shift.copy_(torch.tensor([float(v) for v in class_shift]))
        multiple = 2 ** depth
        if padding == "same":
            # An input of a multiple of `multiple` px, plus `border` before, padded after to
            # the next multiple: the tile our own prediction makes of such a plane.
            self.pad_before = border
            self.pad_after = -(-2 * border // multiple) * multiple - border
        else:
            self.pad_before = self.pad_after = self.unet.margin()
        self.crop_before = border if padding == "same" else 0
        self.crop_after = self.pad_after if padding == "same" else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = [self.pad_before, self.pad_after, self.pad_before, self.pad_after]
        x = F.pad(x, pads, mode="reflect")
        probs = torch.softmax(self.unet(x), dim=1)
        if self.crop_before or self.crop_after:
            height, width = probs.shape[-2], probs.shape[-1]
            probs = probs[:, :, self.crop_before:height - self.crop_after,
                          self.crop_before:width - self.crop_after]
        return probs


def sizes(net: UNet, border: int = BORDER) -> tuple[int, int]:
    """(min, step): the sides ProbabilityNet accepts are min + n * step, n = 0, 1, ...

    The smallest is larger than the mirrored border (mirroring needs it) and at least 32.
    """
    step = net.size_multiple
    if net.arch["padding"] == "same":
        pad = max(border, -(-2 * border // step) * step - border)
        base = step
    else:
        pad = net.margin()
        base = net.output_size(net.input_size_for(1))
    size = base
    while size <= pad or size < 32:
        size += step
    return size, step


def architecture_source() -> str:
    """One Python file defining ProbabilityNet and the U-Net blocks it needs, torch only."""
    parts = [
        '"""unet_studio\'s U-Net for bioimage.io: ProbabilityNet(**kwargs) takes a normalised\n'
        '(N, C, Y, X) image and gives (N, K, Y, X) class probabilities. Generated from\n'
        'unet_studio/ml/unet.py and unet_studio/workflow/bioimageio_net.py."""',
        "import torch\nfrom torch import nn\nfrom torch.nn import functional as F",
        f"NORMS = {unet_module.NORMS!r}\nPADDINGS = {unet_module.PADDINGS!r}",
    ]
    for obj in (unet_module._norm_layer, unet_module.DoubleConv, unet_module.Down, unet_module.Up,
                unet_module.OutConv, UNet, ProbabilityNet):
        parts.append(inspect.getsource(obj).rstrip())
    return "\n\n\n".join(parts) + "\n"
