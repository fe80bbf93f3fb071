"""Batched augmentation and normalisation on uint8 image tensors, on whatever device they live.

The classic CIFAR recipe (random crop with 4 pixels of padding, horizontal flip; He et al. 2015,
section 4.2) applied to a whole batch with a few tensor ops instead of per image in PIL. That is
what lets the trainer skip the ``DataLoader`` (airbench does the same).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["normalize", "random_crop", "random_flip", "augment"]


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Map coordinates in ``[-size + 1, 2 * size - 2]`` back into the image by mirroring at the border."""
    index = index.abs()  # -k -> k
    return torch.where(index >= size, 2 * (size - 1) - index, index)


def random_crop(
    images: torch.Tensor, padding: int = 4, *, size: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A random ``size`` x ``size`` window of each image reflect-padded by ``padding`` pixels.

    With ``size`` None (the image's own size) each image is shifted by its own random offset in
    ``[-padding, padding]`` pixels.

    Equivalent to reflect-padding by ``padding`` and cropping back to the original size at a
    random position, but done as one gather, so it works on uint8 (``F.pad``'s reflect mode does
    not) and costs a single pass over the batch. Reflection rather than zeros, as airbench does,
    so the network never sees an artificial black border.
    """
    n, _, h, w = images.shape
    size = min(h, w) if size is None else size
    if not 1 <= size <= min(h, w):
        raise ValueError(f"crop size must be 1..{min(h, w)} pixels, got {size}")
    if padding == 0 and size == h == w:
        return images
    dev = images.device
    # Window offsets, in padded coordinates shifted so that 0 is the image's top-left corner.
    dy = torch.randint(-padding, h - size + padding + 1, (n, 1), device=dev, generator=generator)
    dx = torch.randint(-padding, w - size + padding + 1, (n, 1), device=dev, generator=generator)
    rows = _reflect(torch.arange(size, device=dev) + dy, h)  # (N, size)
    cols = _reflect(torch.arange(size, device=dev) + dx, w)  # (N, size)
    batch = torch.arange(n, device=dev).view(n, 1, 1)
    # Advanced indices on dims 0, 2, 3 around a slice: the result is (N, size, size, C).
    out = images[batch, :, rows.view(n, size, 1), cols.view(n, 1, size)]
    return out.permute(0, 3, 1, 2)


def random_flip(images: torch.Tensor, p: float = 0.5, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``."""
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < p
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(3), images)


def augment(
    images: torch.Tensor, *, padding: int = 4, size: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random crop (reflect padding, ``size`` pixels square) then horizontal flip, for uint8 ``(N, 3, H, W)``."""
    return random_flip(random_crop(images, padding, size=size, generator=generator), generator=generator)


def normalize(
    images: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` or ``(3, H, W)`` -> ``(x / 255 - mean) / std`` in ``dtype``.

    The one normalisation of every model input here: training, evaluation, classification and
    the insight probes. ``mean``/``std`` are per channel in [0, 1] units. Batches come back
    channels_last because oneDNN (CPU) and cuDNN (GPU) run convolutions fastest in NHWC; doing
    the conversion here means the network's first layer does not have to.
    """
    # Folding the 1/255 into mean and std: one subtraction and one division per pixel.
    m = torch.tensor(mean, device=images.device, dtype=torch.float32).view(-1, 1, 1) * 255
    s = torch.tensor(std, device=images.device, dtype=torch.float32).view(-1, 1, 1) * 255
    x = (images.to(torch.float32) - m) / s
    if x.ndim == 4:
        return x.to(dtype=dtype, memory_format=torch.channels_last)
    return x.to(dtype=dtype)
