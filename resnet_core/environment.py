"""What this machine offers the app: device, CIFAR-10, cached pretrained weights.

The sidebar asks on every page, so this is file checks only: no torch import (~500 MB, ~4 s)
unless torch is loaded already or there are weight files whose names need the model registry.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from resnet_core.device import describe_device
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
    checkpoints = torch_hub_dir() / "checkpoints"
    if not checkpoints.is_dir() or not any(checkpoints.glob("*.pth")):
        return ()
    from resnet_core.models import get_spec, list_models  # imports torch: only once there are files

    names = []
    for name in list_models("imagenet"):
        tv_name = get_spec(name).torchvision_name
        if tv_name and any(checkpoints.glob(f"{tv_name}-*.pth")):
            names.append(name)
    return tuple(names)


def torch_hub_dir() -> Path:
    """``torch.hub.get_dir()``, without importing torch when it is not loaded yet.

    Same rule as torch: ``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``, else
    ``~/.cache/torch/hub``; once torch is loaded, torch answers (``torch.hub.set_dir`` counts).
    """
    if "torch" in sys.modules:
        return Path(sys.modules["torch"].hub.get_dir())
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "torch"
    )
    return Path(os.path.expanduser(torch_home)) / "hub"


def machine_status() -> MachineStatus:
    """Device, CIFAR-10 location and cached weights, read now."""
    return MachineStatus(describe_device(), find_cifar10_dir(), cached_pretrained())
