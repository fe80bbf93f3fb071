"""Augmented mini-batches drawn on the device, without replacement, epoch by epoch.

The airbench way: the whole split is one uint8 tensor on the device and a batch is cropped,
flipped and normalised there with tensor ops; no DataLoader.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from resnet_core.augment import augment, normalize
from resnet_core.cifar10 import MEAN, STD

__all__ = ["Batches"]


class Batches:
    """Mini-batches of ``images``/``labels`` (already on their device), one permutation per epoch.

    The ragged last batch of an epoch is dropped: BatchNorm likes full ones. With ``world`` > 1
    every process draws the same permutation (same seed) and takes its own slice of it.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        *,
        order: torch.Generator,
        augmentation: torch.Generator,
        padding: int = 4,
        size: int | None = None,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.images, self.labels = images, labels
        self.order, self.augmentation = order, augmentation
        self.padding, self.size = padding, size
        self.rank = rank
        self.per_process = len(labels) // world  # images this process trains on per epoch
        self.batch_size = min(batch_size, self.per_process)
        self.steps_per_epoch = max(1, self.per_process // self.batch_size)

    def epoch(self) -> list[torch.Tensor]:
        """The index tensors of one epoch's batches (draws the epoch's permutation)."""
        perm = torch.randperm(len(self.labels), device=self.labels.device, generator=self.order)
        perm = perm[self.rank * self.per_process : (self.rank + 1) * self.per_process]
        return [perm[b * self.batch_size : (b + 1) * self.batch_size] for b in range(self.steps_per_epoch)]

    def forever(self) -> Iterator[torch.Tensor]:
        """Index tensors of batch after batch, epoch after epoch."""
        while True:
            yield from self.epoch()

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The augmented, normalised images at ``idx`` and their labels."""
        x = augment(self.images[idx], padding=self.padding, size=self.size, generator=self.augmentation)
        return normalize(x, MEAN, STD), self.labels[idx]
