"""The trained networks the lesion, response and landscape experiments need.

The shipped ones are the degradation race's quick-scale nets (issue 7): the paper's 6n+2 CIFAR
networks at half width (8/16/32 filters), trained on CIFAR-10 downsampled to 16x16, saved by
:func:`resnet_core.checkpoint.save_checkpoint` with a ``.json`` of provenance beside each file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from resnet_core.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from resnet_core.settings import PACKAGE_DIR

#: Where the shipped trained nets live (one ``<label>.pt`` and ``<label>.json`` each).
RACE_DIR = PACKAGE_DIR / "checkpoints" / "race"


@dataclass(frozen=True)
class RaceNet:
    """One of the shipped trained nets: its file label and what it must contain."""

    label: str  # file stem, e.g. "plain56"
    model: str  # registry name
    depth: int
    residual: bool

    @property
    def title(self) -> str:
        return f"ResNet-{self.depth}" if self.residual else f"plain-{self.depth}"


RACE_NETS: tuple[RaceNet, ...] = (
    RaceNet("plain20", "resnet20", 20, False),
    RaceNet("plain56", "resnet56", 56, False),
    RaceNet("resnet20", "resnet20", 20, True),
    RaceNet("resnet56", "resnet56", 56, True),
)


class TrainedNetMissing(CheckpointError):
    """A shipped trained net is not in this install; the message names the file and what to do."""


def race_dir(directory: str | Path | None = None) -> Path:
    """``directory`` if given, else the package's :data:`RACE_DIR` (read when called, so tests can move it)."""
    return Path(directory) if directory is not None else RACE_DIR


def race_net(label: str) -> RaceNet:
    for net in RACE_NETS:
        if net.label == label:
            return net
    raise KeyError(f"no shipped trained net {label!r}; they are {', '.join(n.label for n in RACE_NETS)}")


def missing_race_nets(directory: str | Path | None = None) -> list[Path]:
    """The shipped trained nets' files that are not there (empty when all are)."""
    root = race_dir(directory)
    return [root / f"{net.label}.pt" for net in RACE_NETS if not (root / f"{net.label}.pt").is_file()]


def load_race_net(label: str, directory: str | Path | None = None) -> Checkpoint:
    """One shipped trained net, checked to be the network its name says; TrainedNetMissing if absent."""
    net = race_net(label)
    path = race_dir(directory) / f"{label}.pt"
    if not path.is_file():
        raise TrainedNetMissing(
            f"the trained {net.title} is not in this install: expected {path} (the degradation race's quick-scale "
            "nets, trained with `python -m resnet_core experiment degradation`). Train a plain and a residual net "
            "on the Train page to use instead."
        )
    ckpt = load_checkpoint(path)
    if ckpt.model_name != net.model or ckpt.residual != net.residual:
        kind = "residual" if ckpt.residual else "plain"
        raise CheckpointError(f"{path} holds a {kind} {ckpt.model_name}, not the {net.title} its name says")
    return ckpt


def fingerprint(ckpt: Checkpoint) -> str:
    """A short hash of the weights: the same network gets the same key in a results cache."""
    h = hashlib.sha1()
    h.update(f"{ckpt.model_name}|{ckpt.residual}|{ckpt.input_size}|{ckpt.mean}|{ckpt.std}".encode())
    with torch.no_grad():
        for name, t in ckpt.model.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def describe(ckpt: Checkpoint) -> str:
    """One line for people: which net, how big, what it scored."""
    kind = "residual" if ckpt.residual else "plain"
    widths = ckpt.model_kwargs.get("widths")
    width = f", widths {'/'.join(map(str, widths))}" if widths else ""
    acc = ckpt.metrics.get("test_acc")
    error = ckpt.metrics.get("test_error")  # the race's nets record their error
    if not isinstance(acc, (int, float)) and isinstance(error, (int, float)):
        acc = 1.0 - error
    score = f", test accuracy {acc:.1%} when saved" if isinstance(acc, (int, float)) else ""
    return f"{kind} {ckpt.model_name}{width}, {ckpt.input_size}x{ckpt.input_size} inputs{score}"


def trained_on_synthetic(ckpt: Checkpoint) -> bool:
    """Whether the net learnt synthetic shapes, not CIFAR-10 (a Train-page run's config, or a race's)."""
    config = ckpt.config.get("race", ckpt.config)  # race checkpoints keep their RaceConfig under "race"
    return isinstance(config, dict) and config.get("data") == "synthetic"
