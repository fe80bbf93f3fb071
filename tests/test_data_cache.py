"""CIFAR-10 is read once per process and shared; a subset run never holds the whole split.

Batch files here hold 100 images instead of 10,000 (the module's file size is patched), so the
fake dataset directories are small and the tests fast.
"""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import resnet_core.data as data
from resnet_core.data import load_cifar10, load_data, stratified_subset
from resnet_core.train import TrainConfig

PER_FILE = 100


@pytest.fixture(autouse=True)
def small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_IMAGES_PER_FILE", PER_FILE)
    data.clear_cache()
    yield
    data.clear_cache()


def write_split(root: Path, seed: int = 0, labels: np.ndarray | None = None) -> Path:
    """A cifar-10-batches-py of 5 x 100 training and 100 test images; pixel 0 holds the image's index."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for f, name in enumerate(names):
        pixels = rng.integers(0, 256, (PER_FILE, 3072), dtype=np.uint8)
        pixels[:, 0] = np.arange(PER_FILE) % 256
        pixels[:, 1] = f  # which file
        y = rng.integers(0, 10, PER_FILE) if labels is None else labels[f * PER_FILE:(f + 1) * PER_FILE]
        with open(root / name, "wb") as fh:
            pickle.dump({b"data": pixels, b"labels": [int(v) for v in y]}, fh)
    return root


def test_a_split_is_read_once_and_shared_between_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_split(tmp_path / "c")
    reads: list[str] = []
    real = data._read_batch
    monkeypatch.setattr(data, "_read_batch", lambda path: reads.append(path.name) or real(path))
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(load_cifar10(root, split="train"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4 and all(r is results[0] for r in results)  # one object for every caller
    assert sorted(reads) == [f"data_batch_{i}" for i in range(1, 6)]  # each file read once
    assert load_cifar10(root, split="train") is results[0]
    full = results[0]
    assert full.images.shape == (500, 3, 32, 32) and full.images.dtype == torch.uint8


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    root = write_split(tmp_path / "c", seed=0)
    first = load_cifar10(root, split="test")
    write_split(root, seed=1)
    second = load_cifar10(root, split="test")
    assert second is not first and not torch.equal(second.labels, first.labels)


def test_a_subset_is_the_stratified_subset_without_the_whole_split(tmp_path: Path, monkeypatch) -> None:
    root = write_split(tmp_path / "c")
    whole = stratified_subset(data._read_split(root, "train", data._TRAIN_FILES, None), 37)
    data.clear_cache()

    def no_whole_split(path, split, files, subset, size=None):
        assert subset is not None, "a subset run read the whole split"
        return real(path, split, files, subset, size)

    real = data._read_split
    monkeypatch.setattr(data, "_read_split", no_whole_split)
    part = load_cifar10(root, split="train", subset=37)
    assert torch.equal(part.images, whole.images) and torch.equal(part.labels, whole.labels)
    assert torch.bincount(part.labels, minlength=10).tolist() == [4] * 7 + [3] * 3
    # Its own small tensor, not a view keeping 500 images alive.
    assert part.images.untyped_storage().nbytes() == part.images.numel()
    assert "subset of 37" in part.source


def test_load_data_uses_the_streaming_subset(tmp_path: Path) -> None:
    root = write_split(tmp_path / "c")
    config = TrainConfig(data="cifar10", data_dir=str(root), subset=20, test_subset=10)
    train, test = load_data(config)
    assert (len(train), len(test)) == (20, 10)
    assert load_data(config)[0] is train  # the second run shares the first one's tensors


def test_a_class_that_runs_short_is_filled_up_as_stratified_subset_does(tmp_path: Path) -> None:
    labels = np.zeros(600, dtype=np.int64)
    labels[::50] = 1  # class 1 has only 12 images, classes 2..9 none
    root = write_split(tmp_path / "c", labels=labels)
    expected = stratified_subset(data._read_split(root, "train", data._TRAIN_FILES, None), 100)
    data.clear_cache()
    got = load_cifar10(root, split="train", subset=100)
    assert torch.equal(got.images, expected.images) and torch.equal(got.labels, expected.labels)


def test_the_cache_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_split(tmp_path / "c")
    one_split = 500 * 3072 + 500 * 8
    monkeypatch.setattr(data, "CACHE_BYTES", one_split)
    train = load_cifar10(root, split="train")
    load_cifar10(root, split="test")  # evicts the least recently used: the training split
    assert load_cifar10(root, split="train") is not train


def test_checking_a_copy_reads_it_but_keeps_nothing(tmp_path: Path) -> None:
    root = write_split(tmp_path / "c")
    assert data.check_cifar10(tmp_path / "c") == root
    assert not data._cache  # the page's check on every visit holds no 30 MB split
    (root / "data_batch_3").unlink()
    with pytest.raises(data.DataError, match="missing data_batch_3"):
        data.check_cifar10(root)


@pytest.mark.parametrize("subset", [None, 30])
def test_a_downsampled_read_matches_downsampling_and_holds_no_full_split(tmp_path: Path, subset: int | None) -> None:
    """The race reads 16x16 directly: the same pixels as shrinking the 32x32 split, without caching it."""
    root = write_split(tmp_path / "c")
    small = load_cifar10(root, split="train", subset=subset, size=16)
    assert small.images.shape[1:] == (3, 16, 16) and "downsampled to 16x16" in small.source
    assert [key[3] for key in data._cache] == [16]  # only the small split is kept
    full = stratified_subset(load_cifar10(root, split="train"), subset)
    expected = data.downsample(full, 16)
    assert torch.equal(small.images, expected.images) and torch.equal(small.labels, expected.labels)
    assert load_cifar10(root, split="train", subset=subset, size=32) is load_cifar10(root, split="train", subset=subset)
    with pytest.raises(data.DataError, match="must divide 32"):
        load_cifar10(root, split="train", size=12)
