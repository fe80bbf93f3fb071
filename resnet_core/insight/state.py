"""Experiments look at a model without changing it: modes and BatchNorm statistics come back as they were."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def untouched(model: nn.Module) -> Iterator[nn.Module]:
    """Run the block, then restore every submodule's train/eval flag and every buffer.

    A training-mode forward pass updates BatchNorm's running statistics; a probe must not leave
    that trace on a model someone else (the Train page, a cached shipped net) goes on using.
    """
    modes = {name: m.training for name, m in model.named_modules()}
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    try:
        yield model
    finally:
        for name, m in model.named_modules():
            m.training = modes[name]
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
