"""BatchNorm running statistics that describe the network, even after a short run.

A BatchNorm layer evaluates with running statistics, an exponential average (momentum 0.1) that
starts at mean 0 and variance 1. After a few dozen steps they still mostly hold that start, so a
deep network evaluates with statistics that match none of its layers: one SGD step of ResNet-110,
or one synthetic epoch of plain-56, tested at losses in the thousands while training at ~2.3
(issue 19, item 4). Re-estimating them from training images (a plain average, as
``momentum=None`` does) before such a run's evaluation gives the scores its weights deserve.
"""

from __future__ import annotations

import torch
from torch import nn

from resnet_core.augment import normalize
from resnet_core.cifar10 import MEAN, STD

__all__ = ["SETTLED_STEPS", "recalibrate_batchnorm"]

#: After this many steps the running statistics' start weighs 0.9**100 (3e-5): they are settled.
SETTLED_STEPS = 100


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, images: torch.Tensor, batch_size: int, max_batches: int = 8) -> None:
    """Replace every BatchNorm's running statistics by their average over ``images`` (uint8).

    The first ``max_batches`` batches of ``images`` (un-augmented, so no generator is touched and
    the run's data order stays what it was); the model's mode and momenta are restored.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or len(images) == 0:
        return
    was_training = model.training
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    try:
        for start in range(0, min(len(images), batch_size * max_batches), batch_size):
            model(normalize(images[start : start + batch_size], MEAN, STD))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)
