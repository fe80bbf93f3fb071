"""Layer responses (He et al., 2015, Figure 7): how strongly each 3x3 layer of a trained net responds.

The response of a layer is its output after batch norm, before the ReLU or the shortcut
addition. The paper found residual nets respond more weakly than plain ones, and deeper residual
nets more weakly still: each residual function stays close to zero and only nudges the signal,
as the residual formulation (section 3.1) hoped.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn


CHUNK = 500  # images per forward pass


@dataclass(frozen=True)
class LayerResponses:
    """Standard deviation of each 3x3 layer's response over all images, positions and channels."""

    layers: tuple[str, ...]  # the BN after each 3x3 conv, input to output
    stds: tuple[float, ...]
    images: int


def conv3x3_bns(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The BN layer that follows each 3x3 conv, in order (projection shortcuts' 1x1 convs left out)."""
    pairs = []
    last_conv: nn.Conv2d | None = None
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            last_conv = m
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            if last_conv is not None and last_conv.kernel_size == (3, 3):
                pairs.append((name, m))
            last_conv = None
    return pairs


class _Moments:
    """Running count, sum and sum of squares in float64: a std over many chunks without keeping them."""

    def __init__(self) -> None:
        self.n, self.s, self.ss = 0, 0.0, 0.0

    def add(self, x: Tensor) -> None:
        x = x.detach().double()
        self.n += x.numel()
        self.s += float(x.sum())
        self.ss += float((x * x).sum())

    @property
    def std(self) -> float:
        mean = self.s / self.n
        return math.sqrt(max(self.ss / self.n - mean * mean, 0.0) * self.n / max(self.n - 1, 1))


@contextmanager
def recording(layers: list[tuple[str, nn.Module]]) -> Iterator[dict[str, _Moments]]:
    """Forward hooks that accumulate each layer's output moments; always removed on exit.

    The hook reads the BN output before the block's in-place ReLU overwrites it.
    """
    moments = {name: _Moments() for name, _ in layers}
    handles = [m.register_forward_hook(lambda mod, inp, out, name=name: moments[name].add(out)) for name, m in layers]
    try:
        yield moments
    finally:
        for h in handles:
            h.remove()


def layer_responses(model: nn.Module, images: Tensor, *, chunk: int = CHUNK) -> LayerResponses:
    """Std of every 3x3 layer's response of ``model`` in eval mode over ``images``.

    The hooks go on a private copy: the app shares one trained net between sessions (threads),
    and a hook on it would record every other session's forward passes too.
    """
    model = copy.deepcopy(model).eval()
    layers = conv3x3_bns(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no 3x3 conv followed by batch norm")
    with torch.inference_mode(), recording(layers) as moments:
        for x in images.split(chunk):
            model(x)
    return LayerResponses(
        layers=tuple(name for name, _ in layers),
        stds=tuple(moments[name].std for name, _ in layers),
        images=int(images.shape[0]),
    )
