"""Running a model for inference without changing it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode for the block, then restore each one's own flag.

    BatchNorm in train mode would normalise with batch statistics and overwrite its running
    averages, so inference on a model left in train mode would both be wrong and mutate it. A
    model already in eval mode (every cached model in this app) is not touched at all, so
    concurrent users of a shared model never see its flags flip.
    """
    training = [m for m in model.modules() if m.training]
    for m in training:
        m.training = False
    try:
        yield model
    finally:
        for m in training:
            m.training = True
