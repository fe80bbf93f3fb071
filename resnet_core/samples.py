"""Ready-made pictures to classify: the built-in gallery, your sample photos, CIFAR-10 test images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_core.cifar10 import CLASSES, IMAGE_SIZE
from resnet_core.environment import find_cifar10_dir
from resnet_core.images import load_image
from resnet_core.settings import PACKAGE_DIR, samples_dir

__all__ = ["DEFAULT_SAMPLE", "GALLERY_DIR", "Sample", "all_samples", "cifar10_test_samples", "gallery_samples",
           "photo_samples"]

_PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")

#: CC0 and public-domain photos shipped inside the package (attribution: GALLERY_DIR / "README.md").
GALLERY_DIR = PACKAGE_DIR / "gallery"
#: The gallery photo pickers start on: the shipped CIFAR-10 model gets it right with confidence.
DEFAULT_SAMPLE = "cat_chelsea.jpg"


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


def _photos(directory: Path, prefix: str) -> list[Sample]:
    samples = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in _PHOTO_SUFFIXES or not path.is_file():
            continue
        cls = path.stem.split("_")[0]
        samples.append(Sample(f"{prefix}{path.name}", cls if cls in CLASSES else None, path=path))
    return samples


def gallery_samples() -> list[Sample]:
    """The built-in gallery, :data:`DEFAULT_SAMPLE` first: there with no setting and offline."""
    if not GALLERY_DIR.is_dir():  # a trimmed install; the pickers then offer uploads only
        return []
    photos = _photos(GALLERY_DIR, "Gallery: ")
    return sorted(photos, key=lambda s: s.path is None or s.path.name != DEFAULT_SAMPLE)


def photo_samples(directory: Path | None = None) -> list[Sample]:
    """The photos in ``directory`` (default ``$RESNET_SAMPLES_DIR``), by name; [] if unset.

    A name starting with a CIFAR-10 class (``cat_tabby.jpg``) gives the photo its true label.
    """
    directory = directory or samples_dir()
    if directory is None or not directory.is_dir():
        return []
    return _photos(directory, "Photo: ")


def cifar10_test_samples(per_class: int = 3, directory: Path | None = None) -> list[Sample]:
    """The first ``per_class`` test images of every class, class by class; [] without CIFAR-10.

    Read through :func:`resnet_core.data.load_cifar10`, the one loader that validates the files
    and refuses a pickle that would run code; a damaged copy raises its ``DataError``.
    """
    from resnet_core.data import load_cifar10  # imports torch: only where CIFAR-10 is there

    directory = directory or find_cifar10_dir()
    if directory is None:
        return []
    test = load_cifar10(directory, split="test")
    labels = test.labels.tolist()
    samples: list[Sample] = []
    for cls, name in enumerate(CLASSES):
        indices = [i for i, y in enumerate(labels) if y == cls][:per_class]
        for n, i in enumerate(indices, 1):
            pixels = test.images[i].permute(1, 2, 0).contiguous().numpy().tobytes()  # planes -> HWC
            samples.append(Sample(f"CIFAR-10 test #{i}: {name} {n}", name, pixels=pixels))
    return samples


def all_samples() -> list[Sample]:
    """Everything a picker offers: gallery (default first), your photos, then CIFAR-10 test images."""
    return gallery_samples() + photo_samples() + cifar10_test_samples()
