"""timm's pretrained ResNets, loaded through timm's own API, seen through the app's ResNet interface.

``timm.create_model(name, pretrained=True)`` builds the model and reads the weights; we point it
at the file already in the Hugging Face cache (``pretrained_cfg_overlay={"file": ...}``, timm's
documented override), so loading never touches the network: missing weights raise
:class:`~resnet_core.pretrained.WeightsUnavailableError` with the prefetch command instead.
Only :func:`download_timm_weights` (``python -m resnet_core prefetch --timm``) lets timm fetch.

timm's ResNets name their parts as torchvision's do (``conv1``, ``bn1``, ``layer1`` .. ``layer4``,
``fc``) except the stem's activation (``act1``) and the pooling (``global_pool``).
:class:`TimmResNet` re-parents those very modules under the names the rest of the app uses
(``relu``, ``avgpool``, ``num_stages``), so Grad-CAM's stage choice and fine-tuning's
trunk/last-stage split work unchanged, and its state dict has exactly timm's keys.

timm is imported inside the functions only: importing this module costs torch, not timm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from torch import nn

from resnet_core.models import ResNet
from resnet_core.pretrained import WeightsUnavailableError
from resnet_core.timm_catalog import cached_weights_file, get_timm_model, timm_prefetch_hint

__all__ = [
    "TimmResNet",
    "data_config",
    "download_timm_weights",
    "load_timm_model",
    "timm_architecture",
]

_STEM = ("conv1", "bn1", "act1", "maxpool", "global_pool", "fc")


class TimmResNet(nn.Module):
    """A timm ``ResNet`` with the app's attribute names; same modules, same weights, same output."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        missing = [part for part in _STEM if not hasattr(model, part)]
        stages = 0
        while hasattr(model, f"layer{stages + 1}"):
            stages += 1
        if missing or stages == 0:
            raise ValueError(
                f"{type(model).__name__} is not a ResNet-family timm model (no {', '.join(missing) or 'layer1'})"
            )
        pool_type = getattr(model.global_pool, "pool_type", "avg")
        if pool_type != "avg" or float(getattr(model, "drop_rate", 0.0)):
            raise ValueError(f"only average-pooled timm ResNets without head dropout are supported, got {pool_type!r}")
        self.conv1, self.bn1, self.relu, self.maxpool = model.conv1, model.bn1, model.act1, model.maxpool
        for i in range(1, stages + 1):
            setattr(self, f"layer{i}", getattr(model, f"layer{i}"))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # what global_pool("avg") computes, as torchvision names it
        self.fc = model.fc
        self.num_stages = stages
        #: timm's description of the weights: input size, mean, std, crop, interpolation, licence.
        self.pretrained_cfg: dict[str, Any] = dict(getattr(model, "pretrained_cfg", {}) or {})

    # The registry's ResNet walks stem, stages, pool and fc by these same attribute names.
    forward_features = ResNet.forward_features
    forward = ResNet.forward


def timm_architecture(name: str, num_classes: int | None = None, **overlay: Any) -> TimmResNet:
    """The curated model ``name`` with fresh weights (``pretrained=False``), e.g. to load a checkpoint."""
    import timm  # heavy: only when a timm model is used

    model = get_timm_model(name)
    kwargs: dict[str, Any] = {} if num_classes is None else {"num_classes": num_classes}
    if overlay:
        kwargs["pretrained_cfg_overlay"] = overlay
    return TimmResNet(timm.create_model(model.name, pretrained=False, **kwargs))


def load_timm_model(
    name: str, *, weights_file: str | Path | None = None, pretrained_cfg_overlay: Mapping[str, Any] | None = None
) -> TimmResNet:
    """The curated model ``name`` with its pretrained weights, in eval mode on the CPU, offline.

    The weights come from the Hugging Face cache, or from ``weights_file`` (a state dict, read
    with ``torch.load(weights_only=True)``). ``pretrained_cfg_overlay`` changes timm's
    description of the weights (e.g. another mean), which :func:`data_config` then reports.
    Raises :class:`WeightsUnavailableError` when the weights are not on this machine or cannot be read.
    """
    import timm

    model_info = get_timm_model(name)
    overlay = dict(pretrained_cfg_overlay or {})
    if weights_file is not None:
        from resnet_core.weights_file import load_weights_file

        return load_weights_file(timm_architecture(name, **overlay), weights_file).eval()
    path = cached_weights_file(name)
    if path is None:
        raise WeightsUnavailableError(f"The timm weights of {model_info.name} are not downloaded yet. " + timm_prefetch_hint(name))
    try:
        raw = timm.create_model(model_info.name, pretrained=True, pretrained_cfg_overlay={**overlay, "file": str(path)})
    except (RuntimeError, OSError, ValueError, KeyError) as exc:  # truncated file, foreign keys, wrong shapes
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsUnavailableError(
            f"the cached timm weights {path} cannot be loaded into {model_info.name} ({first[:200]}); delete the "
            f"folder models--timm--{model_info.name} and fetch them again. " + timm_prefetch_hint(name)
        ) from exc
    for p in raw.parameters():
        p.requires_grad_(False)  # shared read-only by every session; CAMs and fine-tuning need no grads here
    return TimmResNet(raw).eval()


def data_config(model: TimmResNet) -> dict[str, Any]:
    """timm's evaluation preprocessing for ``model``: input_size, crop_pct, crop_mode, mean, std, interpolation."""
    from timm.data import resolve_data_config

    return dict(resolve_data_config({}, pretrained_cfg=model.pretrained_cfg))


def download_timm_weights(name: str) -> Path:
    """Let timm fetch the weights of ``name`` into the Hugging Face cache (if missing); return the file.

    This is ``timm.create_model(name, pretrained=True)``, timm's own download; raises
    :class:`WeightsUnavailableError` when it fails (no network, disk full).
    """
    import timm

    cached = cached_weights_file(name)
    if cached is not None:
        return cached
    model_info = get_timm_model(name)
    try:
        timm.create_model(model_info.name, pretrained=True)
    except Exception as exc:  # huggingface_hub and requests raise many types for network trouble
        raise WeightsUnavailableError(f"timm could not download {model_info.name}: {type(exc).__name__}: {exc}") from exc
    path = cached_weights_file(name)
    if path is None:
        raise WeightsUnavailableError(f"timm loaded {model_info.name} but left no weights file in the Hugging Face cache")
    return path
