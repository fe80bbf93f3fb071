"""One optimisation step: forward under autocast, backward through the grad scaler, update."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from resnet_core.optim import Optimizer

__all__ = ["apply_update", "autocast", "backward", "grad_norms"]


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """Autocast to bf16 or fp16 for ``precision`` "bf16"/"fp16"; a disabled context for "fp32"."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    return torch.autocast(device.type, dtype=dtype, enabled=precision in ("bf16", "fp16"))


def backward(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: Optimizer,
    *,
    device: torch.device,
    precision: str = "fp32",
    scaler: torch.amp.GradScaler | None = None,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward ``x``, cross-entropy against ``y``, gradients into the parameters (not applied yet).

    Returns the detached ``(loss, logits)``. The update is :func:`apply_update`, separate so a
    caller can look at the gradients (norms, divergence) before it commits to them.
    """
    with autocast(device, precision):
        logits = model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    (loss if scaler is None else scaler.scale(loss)).backward()
    return loss.detach(), logits.detach()


def apply_update(optimizer: Optimizer, scaler: torch.amp.GradScaler | None = None) -> None:
    """Take the optimiser step on the gradients :func:`backward` left (unscaled first under fp16)."""
    if scaler is None:
        optimizer.step()
        return
    scaler.step(optimizer)
    scaler.update()


def grad_norms(layers: list[tuple[str, nn.Module]]) -> list[float]:
    """L2 norm of each layer's weight gradient, in ``layers`` order: one host sync for all of them.

    Under a grad scaler, call ``scaler.unscale_(optimizer)`` first.
    """
    return torch.stack([m.weight.grad.detach().float().norm() for _, m in layers]).tolist()
