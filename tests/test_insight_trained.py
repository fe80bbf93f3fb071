"""Loading the shipped race nets: a clear message where they are absent, a check that each is what it says."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from resnet_core.checkpoint import CheckpointError
from resnet_core.data import DataError, ImageDataset
from resnet_core.insight.probe import eval_split, make_probe, normalise
from resnet_core.insight.trained import (
    RACE_NETS,
    TrainedNetMissing,
    describe,
    fingerprint,
    load_race_net,
    missing_race_nets,
    trained_on_synthetic,
)


def test_absent_nets_are_named_with_what_to_do(tmp_path: Path) -> None:
    assert [p.name for p in missing_race_nets(tmp_path)] == [f"{n.label}.pt" for n in RACE_NETS]
    with pytest.raises(TrainedNetMissing) as err:
        load_race_net("plain56", tmp_path)
    assert str(tmp_path / "plain56.pt") in str(err.value) and "Train page" in str(err.value)
    with pytest.raises(KeyError):
        load_race_net("plain99", tmp_path)


def test_stand_ins_load_at_half_width_and_16_pixels(race_nets: Path) -> None:
    assert missing_race_nets(race_nets) == []
    ckpt = load_race_net("resnet56", race_nets)
    assert ckpt.residual and ckpt.model_name == "resnet56" and ckpt.input_size == 16
    assert ckpt.model.conv1.out_channels == 8 and ckpt.model.fc.in_features == 32
    assert "residual resnet56, widths 8/16/32, 16x16 inputs" in describe(ckpt)


def test_a_file_under_the_wrong_name_is_refused(race_nets: Path, tmp_path: Path) -> None:
    shutil.copy(race_nets / "resnet20.pt", tmp_path / "plain20.pt")
    with pytest.raises(CheckpointError, match="not the plain-20"):
        load_race_net("plain20", tmp_path)


def test_fingerprint_follows_the_weights(race_nets: Path) -> None:
    a, b = load_race_net("resnet20", race_nets), load_race_net("resnet20", race_nets)
    assert fingerprint(a) == fingerprint(b)
    with torch.no_grad():
        b.model.fc.bias.add_(1.0)
    assert fingerprint(a) != fingerprint(b)


def test_images_are_averaged_down_then_normalised() -> None:
    images = torch.tensor([[[[0, 255], [255, 255]]] * 3], dtype=torch.uint8)  # 1 image, 2x2, 3 channels
    x = normalise(images, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert torch.allclose(x, torch.tensor([[-2.0, 2.0], [2.0, 2.0]]).expand(1, 3, 2, 2))
    tiny = ImageDataset(images=images, labels=torch.tensor([3]), classes=tuple("abcd"), synthetic=True, source="one")
    probe = make_probe(tiny, 1, input_size=1, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    # 2x2 average in uint8 like the race's training data: round(191.25) = 191, then normalised
    assert torch.allclose(probe.images, torch.full((1, 3, 1, 1), (191 / 255 - 0.5) / 0.25))
    assert probe.labels.tolist() == [3] and probe.source == "1 images of one, downsampled to 1x1"
    with pytest.raises(DataError):
        make_probe(tiny, 1, input_size=3)
    probe = make_probe(eval_split(synthetic=True, size=50), 10, input_size=16, seed=2)
    assert probe.images.shape == (10, 3, 16, 16) and probe.synthetic and "16x16" in probe.source
    assert torch.equal(probe.labels, make_probe(eval_split(synthetic=True, size=50), 10, input_size=16, seed=2).labels)


def test_synthetic_or_cifar_from_a_train_run_or_a_race(race_nets: Path) -> None:
    ckpt = load_race_net("plain20", race_nets)
    assert trained_on_synthetic(ckpt)  # the stand-ins learnt shapes
    ckpt.config = {"race": {"data": "cifar10", "steps": 2000}}
    assert not trained_on_synthetic(ckpt)
    ckpt.config = {"race": {"data": "synthetic"}}
    assert trained_on_synthetic(ckpt)
    ckpt.metrics = {"test_error": 0.25}
    assert "test accuracy 75.0% when saved" in describe(ckpt)
