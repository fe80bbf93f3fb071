"""Saving and loading trained models: a state dict plus what is needed to rebuild and use it.

A checkpoint is a plain dict of tensors, strings and numbers so it loads with
``torch.load(weights_only=True)``: nothing in it can run code when opened.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Union

import torch
from torch import nn

from resnet_core.models import create_model, get_spec
from resnet_core.settings import PACKAGE_DIR

FORMAT_VERSION = 1
#: The CIFAR-10 model shipped with the package, so Classify and Grad-CAM work offline.
SHIPPED_CHECKPOINT = PACKAGE_DIR / "checkpoints" / "cifar10_default.pt"
#: The name that picks that model wherever a model is chosen: Classify's source key, the fine-tune backbone.
SHIPPED_KEY = "shipped"

Source = Union[str, Path, bytes, IO[bytes]]


#: Architecture overrides a checkpoint may carry (see save_checkpoint).
_MODEL_KWARGS = frozenset({"widths"})


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the registered model."""


@dataclass
class Checkpoint:
    """A trained model and its provenance. ``model`` is in eval mode on the CPU."""

    model: nn.Module
    model_name: str
    residual: bool
    classes: tuple[str, ...]
    mean: tuple[float, float, float]  # input normalisation, [0, 1] units
    std: tuple[float, float, float]
    input_size: int
    config: dict[str, Any] = field(default_factory=dict)  # the TrainConfig as a dict
    metrics: dict[str, Any] = field(default_factory=dict)  # final numbers, e.g. test_acc
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"widths": [8, 16, 32]}


def save_checkpoint(
    path_or_file: str | Path | IO[bytes],
    model: nn.Module,
    *,
    model_name: str,
    residual: bool,
    classes: tuple[str, ...] | list[str],
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    input_size: int | None = None,
    config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    model_kwargs: dict[str, Any] | None = None,
) -> None:
    """Write ``model``'s weights with everything :func:`load_checkpoint` needs to rebuild it.

    ``model_kwargs`` are the architecture overrides it was built with (only ``widths`` so far:
    the degradation race's narrow nets), passed to ``create_model`` again on loading.
    """
    _check_model_kwargs(model_kwargs or {})
    # Unwrap DDP / torch.compile wrappers so keys match a freshly built model.
    inner = getattr(model, "module", model)
    inner = getattr(inner, "_orig_mod", inner)
    state = {k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v.detach().cpu()
             for k, v in inner.state_dict().items()}
    payload = {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "residual": residual,
        "num_classes": len(classes),
        "classes": list(classes),
        "mean": list(mean),
        "std": list(std),
        "input_size": input_size or get_spec(model_name).input_size,
        "config": dict(config or {}),
        "metrics": dict(metrics or {}),
        "model_kwargs": {k: list(v) for k, v in (model_kwargs or {}).items()},
        "state_dict": state,
    }
    torch.save(payload, path_or_file)


def load_checkpoint(source: Source) -> Checkpoint:
    """Read a checkpoint from a path, bytes or a binary file; raise :class:`CheckpointError`."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {source}") from None
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        # Keep the first line only: torch's unpickler messages run to a page.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckpointError(
            f"not a readable checkpoint: the file is corrupt or was not saved by resnet_core "
            f"({type(exc).__name__}: {first[:200]})"
        ) from exc
    if not isinstance(payload, dict) or "state_dict" not in payload or "model_name" not in payload:
        raise CheckpointError("not a resnet_core checkpoint: expected a dict with 'model_name' and 'state_dict'")
    model_kwargs = payload.get("model_kwargs") or {}
    _check_model_kwargs(model_kwargs)
    try:
        if str(payload["model_name"]).startswith("timm:"):  # a fine-tuned timm backbone (issue 22)
            from resnet_core.timm_backbones import timm_architecture  # timm: only for such a checkpoint

            try:
                model = timm_architecture(payload["model_name"], num_classes=int(payload["num_classes"]))
            except ValueError as exc:  # a timm name outside the curated list
                raise KeyError(str(exc)) from None
        else:
            model = create_model(payload["model_name"], num_classes=int(payload["num_classes"]),
                                 residual=bool(payload["residual"]), **_as_arguments(model_kwargs))
    except KeyError as exc:
        raise CheckpointError(f"checkpoint names an unknown model: {exc}") from None
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint weights do not fit {payload['model_name']}: {exc}") from None
    model.eval()
    return Checkpoint(
        model=model,
        model_name=payload["model_name"],
        residual=bool(payload["residual"]),
        classes=tuple(payload["classes"]),
        mean=tuple(payload["mean"]),  # type: ignore[arg-type]
        std=tuple(payload["std"]),  # type: ignore[arg-type]
        input_size=int(payload["input_size"]),
        config=dict(payload.get("config", {})),
        metrics=dict(payload.get("metrics", {})),
        model_kwargs=dict(model_kwargs),
    )


def _check_model_kwargs(kwargs: Any) -> None:
    """A checkpoint may be an upload: only known architecture overrides, with sane values, pass."""
    if not isinstance(kwargs, dict) or set(kwargs) - _MODEL_KWARGS:
        raise CheckpointError(f"checkpoint has unsupported model options {kwargs!r}; allowed: {sorted(_MODEL_KWARGS)}")
    widths = kwargs.get("widths")
    if widths is not None and not (
        isinstance(widths, (list, tuple)) and widths and all(isinstance(w, int) and 1 <= w <= 4096 for w in widths)
    ):
        raise CheckpointError(f"checkpoint has invalid widths {widths!r}")


def _as_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) for k, v in kwargs.items()}


def shipped_checkpoint() -> Path | None:
    """Path of the CIFAR-10 checkpoint shipped with the package, if this install has it."""
    return SHIPPED_CHECKPOINT if SHIPPED_CHECKPOINT.is_file() else None
