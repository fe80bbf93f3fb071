"""The networks the experiments compare: the paper's 6n+2 CIFAR nets, plain or residual, at a chosen scale.

The scales are the degradation race's (``resnet_core.lessons``): quick (half width, 16x16 inputs:
the shipped trained nets) and paper; the experiments use their widths and resolution only.
"""

from __future__ import annotations

import torch
from torch import nn

from resnet_core.lessons import PAPER, QUICK, SCALES, Scale
from resnet_core.models import create_model, get_spec, list_models

__all__ = ["PAPER", "QUICK", "SCALES", "InsightError", "Scale", "build_net", "model_name", "net_label",
           "paper_depths", "scale_words"]


class InsightError(ValueError):
    """An experiment asked for something it cannot do; the message says what is possible."""


def scale_words(scale: Scale) -> str:
    """What a scale reduces, in a few words: "8/16/32 filters on 16x16 images"."""
    widths = "/".join(map(str, scale.widths or (16, 32, 64)))
    kind = "half width" if scale.widths else "the paper's width"
    return f"{kind} ({widths} filters) on {scale.resolution}x{scale.resolution} images"


def paper_depths() -> tuple[int, ...]:
    """Depths of the registered 6n+2 CIFAR nets (section 4.2), shallowest first: 20, 32, 44, 56, 110."""
    return tuple(sorted(get_spec(n).depth for n in list_models() if get_spec(n).paper_family))


def model_name(depth: int) -> str:
    """Registry name of the paper's CIFAR net of this depth; InsightError for any other depth."""
    for name in list_models():
        spec = get_spec(name)
        if spec.paper_family and spec.depth == depth:
            return name
    raise InsightError(f"no 6n+2 CIFAR net of depth {depth}; choose one of {', '.join(map(str, paper_depths()))}")


def net_label(depth: int, residual: bool) -> str:
    """How the page and the paper name a net: "plain-56", "ResNet-56"."""
    return f"ResNet-{depth}" if residual else f"plain-{depth}"


def build_net(depth: int, residual: bool, *, scale: Scale, seed: int = 0) -> nn.Module:
    """A freshly initialised net, the same weights for the same ``seed``; the global RNG is left alone."""
    kwargs = {} if scale.widths is None else {"widths": scale.widths}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return create_model(model_name(depth), residual=residual, **kwargs)
