"""The weighted layers of a network, as the paper counts them."""

from __future__ import annotations

from torch import nn

__all__ = ["weighted_layers"]


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv and linear layers of the main path, input to output (shortcut projections left out).

    Our models register their modules in forward order, so module order is data-flow order.
    Projections are left out as the paper's layer count leaves them out.
    """
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in name
    ]
