"""Loading CIFAR-10 and synthetic data, validation errors, and batched augmentation."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from resnet_core.augment import normalize, random_crop, random_flip
from resnet_core.cifar10 import CLASSES, MEAN, STD
from resnet_core.data import (
    SYNTHETIC_CLASSES,
    DataError,
    ImageDataset,
    download_cifar10,
    load_cifar10,
    load_data,
    make_synthetic,
    stratified_subset,
)
from resnet_core.train import TrainConfig

# --------------------------------------------------------------------------------------------
# Broken CIFAR-10 directories
# --------------------------------------------------------------------------------------------


def _write_batch(path: Path, data: object, labels: object) -> None:
    with open(path, "wb") as f:
        pickle.dump({b"batch_label": b"testing batch 1 of 1", b"data": data, b"labels": labels}, f)


def _good_test_dir(tmp_path: Path) -> Path:
    """A cifar-10-batches-py with a valid (all-grey) test_batch and no train files."""
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    labels = [i % 10 for i in range(10_000)]
    _write_batch(root / "test_batch", np.full((10_000, 3072), 128, dtype=np.uint8), labels)
    return root


def test_valid_minimal_directory_loads_from_parent(tmp_path: Path) -> None:
    _good_test_dir(tmp_path)
    ds = load_cifar10(tmp_path, split="test")  # the parent works as well as the folder itself
    assert ds.images.shape == (10_000, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.labels.dtype == torch.int64 and ds.classes == CLASSES and not ds.synthetic
    assert torch.bincount(ds.labels).tolist() == [1000] * 10


def test_missing_file_is_named(tmp_path: Path) -> None:
    root = _good_test_dir(tmp_path)
    with pytest.raises(DataError, match=r"missing data_batch_1, .*data_batch_5"):
        load_cifar10(root, split="train")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(tmp_path / "nope", split="test")


def _labels_with(index: int, label: int) -> list[int]:
    labels = [0] * 10_000
    labels[index] = label
    return labels


@pytest.mark.parametrize(("data", "labels", "match"), [
    (np.zeros((10_000, 1024), dtype=np.uint8), [0] * 10_000, r"test_batch: b'data' has shape \(10000, 1024\)"),
    (np.zeros((10_000, 3072), dtype=np.float32), [0] * 10_000, "dtype float32, expected uint8"),
    (np.zeros((10_000, 3072), dtype=np.uint8), _labels_with(17, 11), r"label 11 at index 17 is outside 0..9"),
    (np.zeros((500, 3072), dtype=np.uint8), [0] * 500, "holds 500 images, expected 10000"),
], ids=["wrong_shape", "wrong_dtype", "label_out_of_range", "incomplete_file"])
def test_a_bad_test_batch_is_named(tmp_path: Path, data: np.ndarray, labels: list[int], match: str) -> None:
    root = _good_test_dir(tmp_path)
    _write_batch(root / "test_batch", data, labels)
    with pytest.raises(DataError, match=match):
        load_cifar10(root, split="test")


def test_truncated_pickle(tmp_path: Path) -> None:
    root = _good_test_dir(tmp_path)
    blob = (root / "test_batch").read_bytes()
    (root / "test_batch").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="truncated or corrupt pickle"):
        load_cifar10(root, split="test")


def test_missing_key(tmp_path: Path) -> None:
    root = _good_test_dir(tmp_path)
    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((10_000, 3072), dtype=np.uint8)}, f)
    with pytest.raises(DataError, match=r"missing key\(s\) \['labels'\]"):
        load_cifar10(root, split="test")


def test_pickle_with_foreign_code_is_refused(tmp_path: Path) -> None:
    root = _good_test_dir(tmp_path)
    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": Path("/etc")}, f)  # any non-numpy global must not be loaded
    with pytest.raises(DataError, match="refusing to load"):
        load_cifar10(root, split="test")


def test_download_offline_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import urllib.error

    import torchvision.datasets

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setenv("RESNET_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataError, match="offline.*RESNET_DATA_DIR"):
        download_cifar10(progress=False)


# --------------------------------------------------------------------------------------------
# The real CIFAR-10 (skipped where $RESNET_DATA_DIR is not set)
# --------------------------------------------------------------------------------------------


def test_real_cifar10_shapes_labels_counts(cifar10_dir: Path) -> None:
    for split, n in (("train", 50_000), ("test", 10_000)):
        ds = load_cifar10(cifar10_dir, split=split)  # type: ignore[arg-type]
        assert ds.images.shape == (n, 3, 32, 32) and ds.images.dtype == torch.uint8
        assert torch.bincount(ds.labels, minlength=10).tolist() == [n // 10] * 10
        assert ds.classes == CLASSES
        assert str(cifar10_dir) in ds.source
    # Channel means of the test split are close to the published training means.
    means = ds.images.float().mean(dim=(0, 2, 3)) / 255
    assert torch.allclose(means, torch.tensor(MEAN), atol=0.01)


def test_load_data_applies_stratified_subsets(cifar10_dir: Path) -> None:
    train, test = load_data(TrainConfig(data_dir=str(cifar10_dir), subset=1000, test_subset=200))
    assert len(train) == 1000 and len(test) == 200
    assert torch.bincount(train.labels).tolist() == [100] * 10
    assert torch.bincount(test.labels).tolist() == [20] * 10


# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------


def test_synthetic_is_deterministic_balanced_and_split_dependent() -> None:
    a, b = make_synthetic(200, seed=3), make_synthetic(200, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.synthetic and a.classes == SYNTHETIC_CLASSES and "not CIFAR-10" in a.source
    assert a.images.shape == (200, 3, 32, 32) and a.images.dtype == torch.uint8
    assert torch.bincount(a.labels).tolist() == [20] * 10
    assert not torch.equal(make_synthetic(200, split="test", seed=3).images, a.images)
    assert not torch.equal(make_synthetic(200, seed=4).images, a.images)


def test_synthetic_classes_differ_in_colour() -> None:
    ds = make_synthetic(400)
    # The brightest-red images should be the "red ..." classes: compare mean R-B per class.
    rb = (ds.images[:, 0].float() - ds.images[:, 2].float()).mean(dim=(1, 2))
    for c, name in enumerate(ds.classes):
        sign = 1 if name.startswith("red") else -1
        assert sign * rb[ds.labels == c].mean() > 0, name


def test_load_data_synthetic() -> None:
    train, test = load_data(TrainConfig(data="synthetic", subset=300, test_subset=100))
    assert (len(train), len(test)) == (300, 100) and train.synthetic and test.synthetic


def test_stratified_subset_keeps_classes_balanced() -> None:
    ds = make_synthetic(500)
    sub = stratified_subset(ds, 55)
    assert len(sub) == 55
    assert sorted(torch.bincount(sub.labels).tolist()) == [5] * 5 + [6] * 5


def test_dataset_rejects_wrong_dtype() -> None:
    with pytest.raises(DataError, match="uint8"):
        ImageDataset(torch.zeros(2, 3, 32, 32), torch.zeros(2, dtype=torch.int64), CLASSES, True, "x")


# --------------------------------------------------------------------------------------------
# Augmentation
# --------------------------------------------------------------------------------------------


def _ramp(n: int = 64) -> torch.Tensor:
    """Images whose pixel value encodes its column: 0..31 across, same in every row/channel."""
    return torch.arange(32, dtype=torch.uint8).view(1, 1, 1, 32).expand(n, 3, 32, 32).contiguous()


def test_flip_mirrors_some_images_exactly() -> None:
    x = _ramp()
    y = random_flip(x, generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.dtype == torch.uint8
    flipped = (y == x.flip(3)).flatten(1).all(1)
    same = (y == x).flatten(1).all(1)
    assert bool((flipped | same).all())  # every image is either untouched or mirrored
    assert 10 < int(flipped.sum()) < 54  # about half, p=0.5


def test_crop_shifts_with_reflection() -> None:
    x = _ramp()
    y = random_crop(x, padding=4, generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.dtype == torch.uint8
    row = y[:, 0, 16, :].long()  # (N, 32) column indices each image now shows
    # Away from the borders each image is the ramp shifted by a constant in [-4, 4].
    shift = row[:, 8] - 8
    assert bool(((shift >= -4) & (shift <= 4)).all())
    assert torch.equal(row[:, 4:28], torch.arange(4, 28).view(1, -1) + shift.view(-1, 1))
    assert len(set(shift.tolist())) > 3  # offsets differ per image
    # At the border the image is mirrored, not zero: a shift of +4 ends in columns 30, 29, 28, 27
    # (the edge pixel is not repeated, like numpy "reflect").
    right = row[shift == 4]
    assert len(right) > 0  # with this seed some image got the largest shift
    assert right[0, -4:].tolist() == [30, 29, 28, 27]
    # Rows are shifted too: a vertical ramp moves by its own offsets.
    v = x.transpose(2, 3).contiguous()
    yv = random_crop(v, padding=4, generator=torch.Generator().manual_seed(1))[:, 0, :, 16].long()
    assert len(set((yv[:, 8] - 8).tolist())) > 3


def test_crop_to_a_smaller_size_takes_a_contiguous_window() -> None:
    x = _ramp()
    y = random_crop(x, padding=0, size=24, generator=torch.Generator().manual_seed(0))
    assert y.shape == (x.shape[0], 3, 24, 24)
    cols = y[:, 0, 5, :].long()  # each image shows 24 consecutive columns of the ramp
    start = cols[:, 0]
    assert torch.equal(cols, start.view(-1, 1) + torch.arange(24).view(1, -1))
    assert int(start.min()) >= 0 and int(start.max()) <= 8 and len(set(start.tolist())) > 3
    with pytest.raises(ValueError, match="crop size"):
        random_crop(x, size=33)


def test_crop_zero_padding_is_identity() -> None:
    x = _ramp(4)
    assert torch.equal(random_crop(x, padding=0), x)


def test_normalize_gives_channels_last_standardised_floats() -> None:
    x = torch.full((2, 3, 8, 8), 255, dtype=torch.uint8)
    y = normalize(x, MEAN, STD)
    assert y.dtype == torch.float32 and y.is_contiguous(memory_format=torch.channels_last)
    expected = (1 - torch.tensor(MEAN)) / torch.tensor(STD)
    assert torch.allclose(y[0, :, 0, 0], expected, atol=1e-5)
