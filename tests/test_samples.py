"""The sample pictures the pages offer: CIFAR-10 test images with labels, and the photo folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from resnet_core.cifar10 import CLASSES
from resnet_core.samples import cifar10_test_samples, photo_samples


def test_cifar10_samples_cover_every_class_with_true_labels(cifar10_dir: Path) -> None:
    samples = cifar10_test_samples(per_class=2, directory=cifar10_dir)
    assert [s.true_label for s in samples] == [c for c in CLASSES for _ in range(2)]
    img = samples[0].load()
    assert img.size == (32, 32) and img.mode == "RGB"
    assert 10 < np.asarray(img).mean() < 245 and np.asarray(img).std() > 5  # a picture, not a blank
    assert len({s.label for s in samples}) == len(samples)


def test_no_cifar10_gives_no_samples(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RESNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RESNET_CACHE_DIR", str(tmp_path))
    assert cifar10_test_samples() == []


def test_photo_samples_take_their_labels_from_file_names(sample_photos: Path) -> None:
    samples = photo_samples(sample_photos)
    by_name = {s.path.name: s for s in samples}
    assert by_name["cat_tabby.jpg"].true_label == "cat"
    assert by_name["rocket_not_cifar.jpg"].true_label is None
    assert "README.md" not in by_name
    assert by_name["dog_beagle.jpg"].load().mode == "RGB"


def test_unset_samples_dir_gives_no_photos(monkeypatch) -> None:
    monkeypatch.delenv("RESNET_SAMPLES_DIR", raising=False)
    assert photo_samples() == []
