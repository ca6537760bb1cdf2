"""The U-Net of Ronneberger et al. (2015), built from named blocks.

    in -> DoubleConv ------------------------------------------> Up -> OutConv -> K logits
             Down -> DoubleConv ------------------------> Up
                        Down -> DoubleConv -------> Up
                                   ... (depth times) ...

Each level doubles the feature maps (width, 2*width, ... width*2**depth at the bottom), as in
the paper. `padding="same"` keeps the output the size of the input (needs a multiple of
2**depth); `padding="valid"` is the paper's unpadded version: the output is smaller than the
input and prediction uses overlap-tile with mirrored borders (ml/predict.py).

A network fine-tuned from the starting model may keep that model's own output layer on its
features (`starting_head`, trained to remember its answers: ml/remember.py). Prediction then
gives one more map after the user's classes: the starting model's "object boundary" class,
which parts touching objects the user's classes do not tell apart (ml/objects.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

NORMS = ("batch", "group", "none")
PADDINGS = ("same", "valid")
# The starting model's classes are background, object, object boundary: the boundary's index.
STARTING_BOUNDARY = 2


def _norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        groups = min(8, channels)
        while channels % groups:
            groups -= 1
        return nn.GroupNorm(groups, channels)
    return nn.Identity()


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by normalisation and ReLU: (N, in, H, W) -> (N, out, H', W')."""

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch", padding: str = "same"):
        pad = 1 if padding == "same" else 0
        bias = norm == "none"  # a norm layer right after makes the conv bias redundant
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=pad, padding_mode="zeros", bias=bias),
            _norm_layer(norm, out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=pad, bias=bias),
            _norm_layer(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class Down(nn.Sequential):
    """2x2 max pooling then DoubleConv: (N, in, H, W) -> (N, out, H/2, W/2) ("same")."""

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch", padding: str = "same"):
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels, norm, padding))


class Up(nn.Module):
    """2x2 up-convolution, concatenation with the skip connection, DoubleConv.

    (N, in, H, W) + skip (N, in/2, 2H', 2W') -> (N, out, 2H, 2W) ("same"). With "valid"
    padding the skip is larger than the upsampled map and is centre-cropped, as in the paper.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch", padding: str = "same"):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, 2, stride=2)
        self.conv = DoubleConv(in_channels // 2 + out_channels, out_channels, norm, padding)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        dy = skip.shape[-2] - x.shape[-2]
        dx = skip.shape[-1] - x.shape[-1]
        if dy or dx:
            skip = skip[..., dy // 2: dy // 2 + x.shape[-2], dx // 2: dx // 2 + x.shape[-1]]
        return self.conv(torch.cat([skip, x], dim=1))


class OutConv(nn.Conv2d):
    """1x1 convolution to one logit per class: (N, width, H, W) -> (N, K, H, W).

    class_shift (K,): a calibration of the logits, added in eval mode (prediction) and left
    out in train mode, as BatchNorm uses its running statistics only in eval mode. Zero
    unless measured (ml/class_shares.py sets it); like BatchNorm's running statistics it is
    measured, not learned, and model files keep it beside the weights (ml/model_file.py).
    """

    def __init__(self, in_channels: int, n_classes: int):
        super().__init__(in_channels, n_classes, 1)
        self.register_buffer("class_shift", torch.zeros(n_classes), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.without_shift(x)
        if self.training:
            return logits
        return logits + self.class_shift.to(logits.dtype).view(1, -1, 1, 1)

    def without_shift(self, x: torch.Tensor) -> torch.Tensor:
        """The logits without the class shift, in either mode."""
        return super().forward(x)


class UNet(nn.Module):
    """U-Net: (N, in_channels, H, W) float -> (N, n_classes, H', W') logits.

    H' = H with padding "same" (H a multiple of `size_multiple`); smaller with "valid"
    (see `output_size`).
    """

    def __init__(self, in_channels: int, n_classes: int, depth: int = 4, width: int = 16,
                 norm: str = "batch", padding: str = "same", starting_head: int = 0):
        """starting_head: the starting model's class count, for a network that keeps its output
        layer (0: none; see the module docstring)."""
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, not {norm!r}")
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}")
        if depth < 1 or width < 1 or in_channels < 1 or n_classes < 1:
            raise ValueError("depth, width, in_channels and n_classes must be positive")
        self.arch = {"in_channels": int(in_channels), "n_classes": int(n_classes), "depth": int(depth),
                     "width": int(width), "norm": norm, "padding": padding}
        widths = [width * 2 ** level for level in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0], norm, padding)
        self.downs = nn.ModuleList(Down(widths[i], widths[i + 1], norm, padding) for i in range(depth))
        self.ups = nn.ModuleList(Up(widths[i + 1], widths[i], norm, padding) for i in reversed(range(depth)))
        self.outc = OutConv(widths[0], n_classes)
        self.starting_head: OutConv | None = None
        if starting_head:
            self.keep_starting_head(OutConv(widths[0], starting_head))

    def keep_starting_head(self, head: OutConv | None) -> None:
        """Keep `head`, the starting model's output layer on these features (None: none)."""
        if head is not None and head.out_channels <= STARTING_BOUNDARY:
            raise ValueError(f"a starting model's output layer has {STARTING_BOUNDARY + 1} classes or more")
        self.starting_head = head
        self.arch.pop("starting_head", None)
        if head is not None:
            self.arch["starting_head"] = int(head.out_channels)

    @property
    def n_outputs(self) -> int:
        """Maps `probabilities` gives: the classes, and the starting model's boundary if kept."""
        return self.n_classes + (self.starting_head is not None)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """(N, n_outputs, H', W') float32: the class probabilities, then, with a kept starting
        head, the starting model's probability of an object boundary."""
        features = self.features(x)
        probs = torch.softmax(self.outc(features).float(), dim=1)
        if self.starting_head is None:
            return probs
        starting = torch.softmax(self.starting_head(features).float(), dim=1)
        return torch.cat([probs, starting[:, STARTING_BOUNDARY:STARTING_BOUNDARY + 1]], dim=1)

    @property
    def size_multiple(self) -> int:
        return 2 ** self.arch["depth"]

    @property
    def n_classes(self) -> int:
        return self.arch["n_classes"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outc(self.features(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map, the input of the output layer: (N, width, H', W')."""
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return x

    def output_size(self, input_size: int) -> int:
        """Output side length for an input side length; ValueError if the network cannot take it."""
        depth = self.arch["depth"]
        if self.arch["padding"] == "same":
            if input_size % self.size_multiple:
                raise ValueError(f"input size {input_size} is not a multiple of {self.size_multiple}")
            return input_size
        size = input_size - 4
        for _ in range(depth):
            if size <= 0 or size % 2:
                raise ValueError(f"input size {input_size} does not fit a valid-padding U-Net of depth {depth}")
            size = size // 2 - 4
        if size <= 0:
            raise ValueError(f"input size {input_size} is too small for a U-Net of depth {depth}")
        for _ in range(depth):
            size = size * 2 - 4
        return size

    def input_size_for(self, min_input: int) -> int:
        """The smallest input side length >= min_input that the network accepts."""
        size = max(int(min_input), 1)
        if self.arch["padding"] == "same":
            return -(-size // self.size_multiple) * self.size_multiple
        while True:
            try:
                self.output_size(size)
                return size
            except ValueError:
                size += 1

    def margin(self) -> int:
        """Pixels lost on each side with "valid" padding (0 with "same")."""
        if self.arch["padding"] == "same":
            return 0
        size = self.input_size_for(4 * self.size_multiple)
        return (size - self.output_size(size)) // 2


@dataclass
class LayerInfo:
    """One row of the network summary."""
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int


def summarise(net: UNet, input_shape: tuple[int, int, int] | None = None) -> list[LayerInfo]:
    """The named blocks of `net` with their output shapes for one input of (C, Y, X)."""
    if input_shape is None:
        side = net.input_size_for(256)
        input_shape = (net.arch["in_channels"], side, side)
    rows: list[LayerInfo] = [LayerInfo("input", "Input", (1, *input_shape), 0)]
    blocks = [("inc", net.inc)]
    blocks += [(f"down{i + 1}", m) for i, m in enumerate(net.downs)]
    blocks += [(f"up{i + 1}", m) for i, m in enumerate(net.ups)]
    blocks += [("outc", net.outc)]
    hooks = []
    for name, module in blocks:
        def hook(module, inputs, output, name=name):
            params = sum(p.numel() for p in module.parameters())
            rows.append(LayerInfo(name, _kind(module), tuple(output.shape), params))
        hooks.append(module.register_forward_hook(hook))
    device = next(net.parameters()).device
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(torch.zeros((1, *input_shape), device=device))
    finally:
        net.train(was_training)
        for h in hooks:
            h.remove()
    return rows


def _kind(module: nn.Module) -> str:
    if isinstance(module, Down):
        return "MaxPool 2x2 + 2 x (Conv 3x3, Norm, ReLU)"
    if isinstance(module, Up):
        return "UpConv 2x2 + concat + 2 x (Conv 3x3, Norm, ReLU)"
    if isinstance(module, DoubleConv):
        return "2 x (Conv 3x3, Norm, ReLU)"
    if isinstance(module, OutConv):
        return "Conv 1x1 -> class logits"
    return type(module).__name__


def summary_text(net: UNet, input_shape: tuple[int, int, int] | None = None) -> str:
    """A printable table of the blocks, output shapes and parameter counts, with totals."""
    rows = summarise(net, input_shape)
    a = net.arch
    lines = [f"U-Net: depth {a['depth']}, width {a['width']}, norm {a['norm']}, padding {a['padding']}, "
             f"{a['in_channels']} input channel(s) -> {a['n_classes']} classes",
             f"{'block':<8} {'layers':<50} {'output shape':<22} {'params':>10}"]
    for r in rows:
        lines.append(f"{r.name:<8} {r.kind:<50} {str(r.output_shape):<22} {r.params:>10,}")
    total = sum(p.numel() for p in net.parameters())
    lines.append(f"total parameters: {total:,}")
    return "\n".join(lines)
