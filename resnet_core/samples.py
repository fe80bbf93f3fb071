"""Ready-made pictures to classify: CIFAR-10 test images (with labels) and the sample photos."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_core.cifar10 import CLASSES, IMAGE_SIZE
from resnet_core.environment import find_cifar10_dir
from resnet_core.images import load_image
from resnet_core.settings import samples_dir

__all__ = ["Sample", "cifar10_test_samples", "photo_samples"]

_PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


@dataclass(frozen=True)
class Sample:
    """One picker entry; ``true_label`` is known for CIFAR-10 images, guessed from photo names."""

    label: str  # what the picker shows
    true_label: str | None
    path: Path | None = None  # a photo on disk, decoded on demand
    pixels: bytes | None = None  # a CIFAR-10 image, 32x32x3 uint8 row-major

    def load(self) -> Image.Image:
        """The picture as RGB (raises :class:`~resnet_core.images.ImageError` for a bad file)."""
        if self.pixels is not None:
            arr = np.frombuffer(self.pixels, np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE, 3)
            return Image.fromarray(arr)
        assert self.path is not None
        return load_image(self.path)


def photo_samples(directory: Path | None = None) -> list[Sample]:
    """The photos in ``directory`` (default ``$RESNET_SAMPLES_DIR``), by name; [] if unset.

    A name starting with a CIFAR-10 class (``cat_tabby.jpg``) gives the photo its true label.
    """
    directory = directory or samples_dir()
    if directory is None or not directory.is_dir():
        return []
    samples = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in _PHOTO_SUFFIXES:
            continue
        prefix = path.stem.split("_")[0]
        samples.append(Sample(f"Photo: {path.name}", prefix if prefix in CLASSES else None, path=path))
    return samples


def cifar10_test_samples(per_class: int = 3, directory: Path | None = None) -> list[Sample]:
    """The first ``per_class`` test images of every class, class by class; [] without CIFAR-10.

    Reads ``test_batch`` of the standard python layout directly (see ../shared/data/README.md:
    torchvision's loader refuses the offline copy's checksums).
    """
    directory = directory or find_cifar10_dir()
    if directory is None:
        return []
    with open(directory / "test_batch", "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE)
    labels = list(batch[b"labels"])
    samples: list[Sample] = []
    for cls, name in enumerate(CLASSES):
        indices = [i for i, y in enumerate(labels) if y == cls][:per_class]
        for n, i in enumerate(indices, 1):
            pixels = data[i].transpose(1, 2, 0).tobytes()  # planes -> HWC
            samples.append(Sample(f"CIFAR-10 test #{i}: {name} {n}", name, pixels=pixels))
    return samples
