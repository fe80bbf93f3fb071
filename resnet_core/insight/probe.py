"""The images every experiment feeds its networks: real CIFAR-10 test images when present, else synthetic.

Images stay uint8 until :func:`make_probe` shrinks them to the network's input size (2x2 average
pooling for the quick scale's 16x16, :func:`resnet_core.data.downsample`) and normalises them,
the way the trained nets saw their data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from resnet_core.augment import normalize
from resnet_core.cifar10 import MEAN, STD
from resnet_core.data import DataError, ImageDataset, downsample, load_cifar10, make_synthetic
from resnet_core.environment import find_cifar10_dir
from resnet_core.insight.nets import InsightError


@dataclass(frozen=True)
class Probe:
    """A labelled batch ready for a network."""

    images: Tensor  # float32 (N, 3, S, S), normalised
    labels: Tensor  # int64 (N,)
    synthetic: bool
    source: str  # for people: where the images came from and how they were prepared


def eval_split(data_dir: str | Path | None = None, *, synthetic: bool = False, size: int = 10_000) -> ImageDataset:
    """CIFAR-10's test split; synthetic shapes (labelled as such) where CIFAR-10 is not found.

    An explicit ``data_dir`` that does not hold CIFAR-10 is an error (DataError), not a silent
    fall back: the user asked for that data.
    """
    if not synthetic and (data_dir is not None or find_cifar10_dir() is not None):
        return load_cifar10(data_dir, split="test")
    return make_synthetic(size, split="test", seed=0)


def normalise(images: Tensor, mean: tuple[float, ...] = MEAN, std: tuple[float, ...] = STD) -> Tensor:
    """uint8 ``(N, 3, H, W)`` -> float, normalised per channel (``mean``, ``std`` in [0, 1] units)."""
    return normalize(images, mean, std)


def make_probe(
    dataset: ImageDataset,
    n: int,
    *,
    input_size: int,
    seed: int = 0,
    mean: tuple[float, ...] = MEAN,
    std: tuple[float, ...] = STD,
) -> Probe:
    """``n`` images drawn from ``dataset`` (the same ones for the same ``seed``), ready for a net."""
    if not 1 <= n <= len(dataset):
        raise InsightError(f"asked for {n} images; this dataset has {len(dataset)}")
    g = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(dataset), generator=g)[:n]
    drawn = ImageDataset(images=dataset.images[index], labels=dataset.labels[index], classes=dataset.classes,
                         synthetic=dataset.synthetic, source=f"{n:,} images of {dataset.source}")
    # The race nets were trained on images shrunk exactly this way (uint8 average pooling).
    small = downsample(drawn, input_size)
    return Probe(images=normalise(small.images, mean, std), labels=small.labels, synthetic=small.synthetic,
                 source=small.source)


__all__ = ["DataError", "Probe", "eval_split", "make_probe", "normalise"]
