"""CIFAR-10 facts shared by data loading, training, classification and the pages."""

from __future__ import annotations

CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

# Per-channel statistics of the 50,000 training images, in [0, 1] units. The std is the
# per-pixel std over the training set (0.2470, 0.2435, 0.2616), not the often-copied
# (0.2023, 0.1994, 0.2010), which is a mean of per-image stds.
MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
STD: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)

IMAGE_SIZE = 32  # pixels, square
