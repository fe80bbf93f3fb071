"""Checkpoints: a round trip gives the same model; anything else is refused with a clear message."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from resnet_core import cifar10
from resnet_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from resnet_core.models import create_model


def save(model: torch.nn.Module, name: str, residual: bool = True, **kw: object) -> bytes:
    buf = io.BytesIO()
    save_checkpoint(buf, model, model_name=name, residual=residual, classes=cifar10.CLASSES,
                    mean=cifar10.MEAN, std=cifar10.STD, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("residual", [True, False])
def test_round_trip_gives_identical_outputs(tmp_path: Path, residual: bool) -> None:
    torch.manual_seed(0)
    model = create_model("resnet20", residual=residual)
    model.train()
    model(torch.randn(8, 3, 32, 32))  # move BN running stats away from their defaults
    model.eval()
    path = tmp_path / "m.pt"
    path.write_bytes(save(model, "resnet20", residual, config={"lr": 0.1}, metrics={"test_acc": 0.9}))
    ckpt = load_checkpoint(path)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(ckpt.model(x), model(x))
    assert not ckpt.model.training
    assert (ckpt.model_name, ckpt.residual, ckpt.input_size) == ("resnet20", residual, 32)
    assert ckpt.classes == cifar10.CLASSES and ckpt.mean == cifar10.MEAN
    assert ckpt.config == {"lr": 0.1} and ckpt.metrics == {"test_acc": 0.9}


def test_bf16_weights_are_stored_as_fp32() -> None:
    model = create_model("resnet20").to(torch.bfloat16)
    ckpt = load_checkpoint(save(model, "resnet20"))
    assert all(p.dtype == torch.float32 for p in ckpt.model.parameters())


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "not a readable checkpoint"),
        (b"this is not a checkpoint", "not a readable checkpoint"),
    ],
)
def test_garbage_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(payload)


def test_foreign_dict_is_refused() -> None:
    buf = io.BytesIO()
    torch.save({"weights": torch.zeros(1)}, buf)
    with pytest.raises(CheckpointError, match="not a resnet_core checkpoint"):
        load_checkpoint(buf.getvalue())


def test_weights_of_another_model_are_refused() -> None:
    data = save(create_model("resnet20"), "resnet32")  # resnet20 weights labelled resnet32
    with pytest.raises(CheckpointError, match="do not fit resnet32"):
        load_checkpoint(data)


def test_unknown_model_is_refused() -> None:
    payload = torch.load(io.BytesIO(save(create_model("resnet20"), "resnet20")), weights_only=True)
    payload["model_name"] = "resnet7"
    buf = io.BytesIO()
    torch.save(payload, buf)
    with pytest.raises(CheckpointError, match="unknown model"):
        load_checkpoint(buf.getvalue())


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_code_in_a_pickle_is_not_run(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple:
            return (Path.touch, (tmp_path / "pwned",))

    buf = io.BytesIO()
    torch.save({"model_name": "resnet20", "state_dict": {}, "x": Evil()}, buf)
    with pytest.raises(CheckpointError):
        load_checkpoint(buf.getvalue())
    assert not (tmp_path / "pwned").exists()
