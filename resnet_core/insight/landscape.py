"""A 1-D slice of the loss landscape (Li et al., 2018) along a filter-normalised random direction.

Li et al. showed that skip connections keep the loss surface of deep nets smooth and convex-
looking, while deep plain nets get chaotic, sharp surfaces. A random direction in weight space
is meaningless on its own (batch norm makes a net invariant to each filter's scale), so each
filter of the direction is rescaled to the norm of the same filter in the trained weights;
BN parameters and biases are left still, as in the paper.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from resnet_core.insight.nets import InsightError

CHUNK = 500


@dataclass(frozen=True)
class LossSlice:
    """Loss and accuracy at ``weights + alpha * direction`` for each ``alpha``."""

    alphas: tuple[float, ...]
    losses: tuple[float, ...]
    accs: tuple[float, ...]
    images: int


def filter_normalized_direction(model: nn.Module, seed: int = 0) -> dict[str, Tensor]:
    """A Gaussian direction, each filter (slice along dim 0) scaled to its weights' filter norm.

    One-dimensional parameters (BN scales and shifts, biases) get a zero direction.
    """
    g = torch.Generator().manual_seed(seed)
    direction = {}
    for name, p in model.named_parameters():
        if p.dim() <= 1:
            direction[name] = torch.zeros_like(p)
            continue
        d = torch.randn(p.shape, generator=g, dtype=p.dtype)
        d_norm = d.flatten(1).norm(dim=1).clamp_min(1e-12)
        p_norm = p.detach().flatten(1).norm(dim=1)
        direction[name] = d * (p_norm / d_norm).view(-1, *([1] * (p.dim() - 1)))
    return direction


def loss_slice(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    points: int = 21,
    span: float = 1.0,
    seed: int = 0,
    chunk: int = CHUNK,
) -> LossSlice:
    """Cross-entropy and accuracy along ``alpha`` in [-span, span] (eval mode, BN running statistics).

    The model is neither modified nor run: a copy of it walks the slice.
    """
    if points < 2 or span <= 0:
        raise InsightError(f"need at least 2 points and a positive span, got {points} points, span {span}")
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise InsightError(f"need as many labels as images (and at least one): {images.shape[0]} vs {labels.shape[0]}")
    direction = filter_normalized_direction(model, seed)
    # Moved weights go into a private copy: the app shares one trained net between sessions
    # (threads), which must never see it half-moved.
    moved = copy.deepcopy(model).eval().requires_grad_(False)
    params = dict(moved.named_parameters())
    weights = {name: p.detach().clone() for name, p in params.items()}
    alphas = torch.linspace(-span, span, points).tolist()
    losses, accs = [], []
    with torch.inference_mode():
        for alpha in alphas:
            for name, p in params.items():
                p.copy_(weights[name] + alpha * direction[name])
            loss_sum, correct = 0.0, 0
            for x, y in zip(images.split(chunk), labels.split(chunk)):
                logits = moved(x)
                loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
                correct += int((logits.argmax(1) == y).sum())
            losses.append(loss_sum / len(labels))
            accs.append(correct / len(labels))
    return LossSlice(tuple(alphas), tuple(losses), tuple(accs), int(len(labels)))
