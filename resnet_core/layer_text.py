"""A layer in the paper's words: "3x3, 64" in Table 1, "3x3 conv, 64, stride 2" in Figure 3.

The summary's Table 1 rows and the anatomy's block diagrams both write layers this way; this is
the one place that spells it.
"""

from __future__ import annotations

from torch import nn

__all__ = ["conv_text", "max_pool_text"]


def conv_text(conv: nn.Conv2d, *, noun: str = "", stride: bool = True) -> str:
    """Kernel and output channels, then the stride when it is not 1 (``stride=False``: never).

    ``noun="conv"`` gives Figure 3's "3x3 conv, 64"; without it, Table 1's "3x3, 64".
    """
    k = conv.kernel_size
    text = f"{k[0]}x{k[1]}{' ' + noun if noun else ''}, {conv.out_channels}"
    return text if not stride or conv.stride == (1, 1) else f"{text}, stride {conv.stride[0]}"


def max_pool_text(pool: nn.MaxPool2d) -> str:
    """"2x2 max pool", or "3x3 max pool, stride 2" when the stride is not the window."""
    k, s = pool.kernel_size, pool.stride
    return f"{k}x{k} max pool" + (f", stride {s}" if s != k else "")
