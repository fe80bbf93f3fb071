"""A state-dict file given by hand (``--weights-file``): read safely, fitted strictly, errors named.

For offline use and tests: any backbone's architecture can take its weights from a plain
``torch.save(model.state_dict(), path)`` file instead of a cache. The file is opened with
``torch.load(weights_only=True)``, so nothing in it can run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import torch
from torch import nn

__all__ = ["WeightsFileError", "load_weights_file", "read_state_dict", "read_tensors"]

M = TypeVar("M", bound=nn.Module)


class WeightsFileError(ValueError):
    """A weights file that is missing, unreadable or does not fit the chosen backbone."""


def read_tensors(path: Path, unreadable: Callable[[str], Exception]) -> Any:
    """What ``torch.load(path, weights_only=True)`` reads onto the CPU; nothing in the file can run code.

    A file torch cannot read raises ``unreadable(the error's type name)``: only the type, because
    torch's text suggests ``weights_only=False``, which would let the file run code.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a truncated, corrupt or foreign file
        raise unreadable(type(exc).__name__) from exc


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``; a checkpoint dict with a ``state_dict`` entry is accepted too."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsFileError(f"weights file not found: {path}")
    payload = read_tensors(path, lambda error: WeightsFileError(
        f"{path} is not a readable state dict ({error}); save one with torch.save(model.state_dict(), path)"
    ))
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    if not isinstance(payload, dict) or not payload or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise WeightsFileError(f"{path} does not hold a state dict (a dict of tensors); got {type(payload).__name__}")
    return payload


def load_weights_file(model: M, path: str | Path) -> M:
    """Load the state dict in ``path`` into ``model`` with ``strict=True``; return ``model``."""
    state = read_state_dict(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = " ".join(lines[:2])[:300]
        raise WeightsFileError(f"the weights in {path} do not fit this backbone: {detail}") from exc
    return model
