"""Gradient flow at initialisation: how large each conv layer's gradient is next to its weights.

The textbook story says a deep plain net's gradients *vanish* toward the input. With batch norm
they do not: measured here, they *grow* toward the input (plain-56's first conv gets a gradient
hundreds of times its weight norm) while a residual net keeps every layer within about one order
of magnitude. He et al. (2015, section 4.1) already argue the plain nets' trouble is not
vanishing gradients; this experiment shows what happens instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from resnet_core.insight.nets import Scale, build_net, model_name
from resnet_core.insight.probe import Probe
from resnet_core.model_state import untouched


@dataclass(frozen=True)
class GradientFlow:
    """Per conv layer, input to output: ``||dL/dW|| / ||W||`` on one batch."""

    layers: tuple[str, ...]
    relative_grad_norms: tuple[float, ...]
    grad_norms: tuple[float, ...]
    weight_norms: tuple[float, ...]
    loss: float

    @property
    def spread(self) -> float:
        """log10 of the largest over the smallest relative norm: orders of magnitude between layers."""
        return math.log10(max(self.relative_grad_norms) / min(self.relative_grad_norms))


@dataclass(frozen=True)
class GradientFlowRun:
    """One network of the experiment: which one, and its gradient flow."""

    model: str
    depth: int
    residual: bool
    flow: GradientFlow


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """Every conv layer in registration order, which in these ResNets is input to output."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def relative_gradient_norms(model: nn.Module, images: Tensor, labels: Tensor) -> GradientFlow:
    """Cross-entropy on one batch with BN in training mode, as in the first step of training.

    Uses ``torch.autograd.grad`` so no ``.grad`` is left on the model, and restores its modes
    and BN statistics afterwards.
    """
    convs = conv_layers(model)
    if not convs:
        raise ValueError(f"{type(model).__name__} has no conv layers")
    weights = [conv.weight for _, conv in convs]
    with untouched(model):
        model.train()
        loss = F.cross_entropy(model(images), labels)
        grads = torch.autograd.grad(loss, weights)
    g = [float(x.norm()) for x in grads]
    w = [float(x.detach().norm()) for x in weights]
    return GradientFlow(
        layers=tuple(name for name, _ in convs),
        relative_grad_norms=tuple(gi / wi for gi, wi in zip(g, w)),
        grad_norms=tuple(g),
        weight_norms=tuple(w),
        loss=float(loss.detach()),
    )


def gradient_flow(depth: int, residual: bool, probe: Probe, *, scale: Scale, seed: int = 0) -> GradientFlowRun:
    """Gradient flow of the paper's ``depth``-layer CIFAR net, freshly initialised with ``seed``."""
    net = build_net(depth, residual, scale=scale, seed=seed)
    return GradientFlowRun(model_name(depth), depth, residual, relative_gradient_norms(net, probe.images, probe.labels))
