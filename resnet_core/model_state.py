"""Running a block on a model and leaving the model as it was: train/eval flags and buffers.

One helper, :func:`untouched`, puts back what a block changed; :func:`evaluating` is the same
with eval mode for the block, what inference (classify, CAMs, feature maps) needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def untouched(model: nn.Module) -> Iterator[nn.Module]:
    """Run the block, then put back every submodule's train/eval flag and every buffer it changed.

    A training-mode forward pass updates BatchNorm's running statistics; a probe must not leave
    that trace on a model someone else (the Train page, a cached shipped net) goes on using. Only
    what changed is written back, so a block that changes nothing writes nothing: concurrent
    users of a shared model never see its flags flip or its buffers rewritten.
    """
    modes = {name: m.training for name, m in model.named_modules()}
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    try:
        yield model
    finally:
        for name, m in model.named_modules():
            if name in modes and m.training != modes[name]:
                m.training = modes[name]
        with torch.no_grad():
            for name, b in model.named_buffers():
                # A meta tensor (the Architecture page's shape-only models) holds no values to put back.
                if name in buffers and not b.is_meta and not torch.equal(b, buffers[name]):
                    b.copy_(buffers[name])


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """:func:`untouched`, with every submodule in eval mode for the block.

    BatchNorm in train mode would normalise with batch statistics and overwrite its running
    averages, so inference on a model left in train mode would both be wrong and mutate it. A
    model already in eval mode (every cached model in this app) is not written to at all.
    """
    with untouched(model):
        for m in model.modules():
            if m.training:
                m.training = False
        yield model
