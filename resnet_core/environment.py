"""What this machine offers the app: device, CIFAR-10, cached pretrained weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from resnet_core.device import describe_device
from resnet_core.models import get_spec, list_models
from resnet_core.settings import cache_dir, data_dir

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
    """Names of the ImageNet variants whose torchvision weights sit in torch's hub cache.

    torchvision names its files ``<arch>-<hash>.pth``; matching that pattern here, rather than
    asking torchvision for the exact name, keeps the sidebar from importing torchvision (~165 MB).
    ``resnet_core.pretrained.weights_path`` has the exact name when a page loads the weights.
    """
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    if not checkpoints.is_dir():
        return ()
    names = []
    for name in list_models("imagenet"):
        tv_name = get_spec(name).torchvision_name
        if tv_name and any(checkpoints.glob(f"{tv_name}-*.pth")):
            names.append(name)
    return tuple(names)


def machine_status() -> MachineStatus:
    """Device, CIFAR-10 location and cached weights, read now."""
    return MachineStatus(describe_device(), find_cifar10_dir(), cached_pretrained())
