"""The networks the experiments compare: the paper's 6n+2 CIFAR nets, plain or residual, at a chosen scale."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from resnet_core.models import create_model, get_spec, list_models


class InsightError(ValueError):
    """An experiment asked for something it cannot do; the message says what is possible."""


@dataclass(frozen=True)
class Scale:
    """How big the networks and their inputs are; depth and structure are always the paper's."""

    name: str
    widths: tuple[int, int, int] | None  # filters per stage; None: the paper's 16/32/64
    input_size: int  # pixels, square
    description: str


#: The degradation race's quick scale: the trained nets shipped for the lesion, response and
#: landscape experiments are these, so the untrained experiments default to them too.
QUICK = Scale("quick", (8, 16, 32), 16, "half width (8/16/32 filters) on CIFAR-10 downsampled to 16x16")
PAPER = Scale("paper", None, 32, "the paper's width (16/32/64 filters) on 32x32 CIFAR-10")
SCALES: dict[str, Scale] = {s.name: s for s in (QUICK, PAPER)}


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
