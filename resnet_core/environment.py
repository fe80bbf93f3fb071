"""What this machine offers the app: device, CIFAR-10, cached pretrained weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from resnet_core.device import describe_device
from resnet_core.settings import cache_dir, data_dir

# The torchvision checkpoints our ImageNet variants load (file names of their IMAGENET1K_V1 weights).
_TV_WEIGHT_FILES = {
    "resnet18": "resnet18-f37072fd.pth",
    "resnet34": "resnet34-b627a593.pth",
    "resnet50": "resnet50-0676ba61.pth",
    "resnet101": "resnet101-63fe2227.pth",
    "resnet152": "resnet152-394f9c45.pth",
}


@dataclass(frozen=True)
class MachineStatus:
    """A snapshot of what is available, for the sidebar and ``python -m resnet_core info``."""

    device: str
    cifar10_dir: Path | None
    pretrained_cached: tuple[str, ...]


def find_cifar10_dir() -> Path | None:
    """The first ``cifar-10-batches-py`` directory found: the setting, then the download cache."""
    candidates: list[Path] = []
    configured = data_dir()
    if configured is not None:
        candidates += [configured, configured / "cifar-10-batches-py"]
    candidates.append(cache_dir() / "data" / "cifar-10-batches-py")
    for path in candidates:
        if (path / "data_batch_1").is_file() and (path / "test_batch").is_file():
            return path
    return None


def cached_pretrained() -> tuple[str, ...]:
    """Names of the ImageNet variants whose torchvision weights sit in torch's hub cache."""
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    return tuple(name for name, fname in _TV_WEIGHT_FILES.items() if (checkpoints / fname).is_file())


def machine_status() -> MachineStatus:
    """Device, CIFAR-10 location and cached weights, read now."""
    return MachineStatus(describe_device(), find_cifar10_dir(), cached_pretrained())
