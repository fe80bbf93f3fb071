"""Loss and accuracy of a network on held-out images: the one evaluation loop."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from resnet_core.augment import normalize
from resnet_core.cifar10 import MEAN, STD
from resnet_core.engine.step import autocast

__all__ = ["eval_totals"]


@torch.no_grad()
def eval_totals(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    device: torch.device,
    precision: str = "fp32",
    tta: bool = False,
    batch_size: int = 500,
    should_stop: Callable[[], bool] = lambda: False,
) -> torch.Tensor | None:
    """Summed loss, correct count and image count (float64, on ``device``); None if stopped.

    In eval mode (BatchNorm's running statistics); the model's mode is restored afterwards.
    ``images`` are uint8, normalised here batch by batch.
    """
    was_training = model.training
    model.eval()
    totals = torch.zeros(3, device=device, dtype=torch.float64)
    try:
        for i in range(0, len(labels), batch_size):
            if should_stop():
                return None
            x = normalize(images[i : i + batch_size].to(device, non_blocking=True), MEAN, STD)
            y = labels[i : i + batch_size].to(device, non_blocking=True)
            with autocast(device, precision):
                logits = model(x)
                if tta:
                    # Mirror test-time augmentation: the net was trained on flipped images, so
                    # averaging both views is a cheap gain on CIFAR (airbench does this); 2x the cost.
                    logits = 0.5 * (logits + model(x.flip(3)))
            logits = logits.float()
            totals[0] += F.cross_entropy(logits, y, reduction="sum").double()
            totals[1] += (logits.argmax(1) == y).sum()
            totals[2] += len(y)
    finally:
        model.train(was_training)
    return totals
