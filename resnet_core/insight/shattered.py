"""Shattered gradients (Balduzzi et al., 2017): the gradient along a line of inputs, smooth or white noise.

Walk along a straight line through input space, ``x(t) = base + t * direction``, and take at
each of 256 points the derivative of one output along the line, ``d f(x(t)) / dt``: the network
restricted to the line is a function of one number, as in the paper's Figure 1. In a shallow
net that derivative changes smoothly from point to point (neighbours correlate, "brown noise");
in a deep plain net it decorrelates into white noise, a gradient that says nothing about its
neighbourhood; a residual net keeps it smooth at every depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from resnet_core.insight.nets import InsightError, Scale, build_net, model_name
from resnet_core.insight.probe import Probe
from resnet_core.model_state import untouched

POINTS = 256  # along the line, as in the paper


@dataclass(frozen=True)
class LineGradient:
    """``d f(x(t)) / dt`` at evenly spaced ``t`` and how well neighbouring values correlate."""

    t: tuple[float, ...]
    gradient: tuple[float, ...]
    output: int  # which logit
    autocorrelation: float  # lag-1: 1 smooth, 0 white noise


@dataclass(frozen=True)
class ShatteredRun:
    model: str
    depth: int
    residual: bool
    line: LineGradient


def neighbour_correlation(values: Tensor) -> float:
    """Pearson correlation of each value with the next (lag-1 autocorrelation).

    1 for a gradient that changes linearly, about 0 for white noise, -1 for one that flips sign
    at every step. A constant gradient (a linear function) is perfectly predictable from its
    neighbour, so it counts as 1 rather than the 0/0 of the formula.
    """
    v = values.detach().double().flatten()
    if v.numel() < 3:
        raise ValueError(f"need at least 3 values for a neighbour correlation, got {v.numel()}")
    # A constant sequence, up to float32 rounding (a linear model's gradient is one number).
    if float(v.max() - v.min()) <= 1e-6 * float(v.abs().max()):
        return 1.0
    a, b = v[:-1] - v[:-1].mean(), v[1:] - v[1:].mean()
    denom = float(a.norm() * b.norm())
    if denom == 0.0:  # one end of the sequence is constant: no correlation to speak of
        return 0.0
    return float((a * b).sum()) / denom


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, images: Tensor) -> None:
    """Set every BN layer's running statistics to those of ``images`` (one training-mode pass).

    Afterwards, in eval mode, each input is normalised the same way whatever else is in its
    batch, so the points on the line do not influence each other through batch statistics.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average: after one batch, exactly that batch's statistics
    model.train()
    try:
        model(images)
    finally:
        for bn, m in zip(bns, momenta):
            bn.momentum = m
    model.eval()


def line_gradient(
    model: nn.Module,
    base: Tensor,
    direction: Tensor,
    *,
    output: int,
    points: int = POINTS,
    calibration: Tensor | None = None,
) -> LineGradient:
    """``d f_output(base + t * direction) / dt`` for ``t`` evenly spaced in [-1, 1].

    ``model`` runs in eval mode; ``calibration`` (a batch of images) first sets its BN statistics
    (see :func:`calibrate_batchnorm`). The model's modes and statistics are restored afterwards.
    """
    if base.shape != direction.shape:
        raise ValueError(f"base {tuple(base.shape)} and direction {tuple(direction.shape)} differ in shape")
    t = torch.linspace(-1.0, 1.0, points)
    with untouched(model):
        if calibration is not None:
            calibrate_batchnorm(model, calibration)
        model.eval()
        x = (base.unsqueeze(0) + t.view(-1, *([1] * base.dim())) * direction.unsqueeze(0)).requires_grad_(True)
        # Points are independent in eval mode, so one backward pass of the sum gives every point's gradient.
        (grad_x,) = torch.autograd.grad(model(x)[:, output].sum(), x)
    along = (grad_x * direction.unsqueeze(0)).flatten(1).sum(1)  # chain rule: d f / dt = grad . direction
    return LineGradient(
        t=tuple(t.tolist()),
        gradient=tuple(along.tolist()),
        output=output,
        autocorrelation=neighbour_correlation(along),
    )


def shattered(depth: int, residual: bool, probe: Probe, *, scale: Scale, seed: int = 0) -> ShatteredRun:
    """The line experiment on a fresh net: the straight line from the probe's first image to its second.

    ``t = -1`` is the first image, ``t = 1`` the second, and the 256 points blend one into the
    other; the output is the logit of the first image's class. BN statistics come from the probe.
    """
    if probe.images.shape[0] < 2:
        raise InsightError("the line experiment needs at least two probe images (its two ends)")
    net = build_net(depth, residual, scale=scale, seed=seed)
    first, second = probe.images[0], probe.images[1]
    line = line_gradient(net, (first + second) / 2, (second - first) / 2, output=int(probe.labels[0]),
                         calibration=probe.images)
    return ShatteredRun(model_name(depth), depth, residual, line)
