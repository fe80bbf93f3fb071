"""Shattered gradients: the neighbour correlation of known sequences and of functions with known gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_core.insight.nets import QUICK
from resnet_core.insight.probe import eval_split, make_probe
from resnet_core.insight.shattered import calibrate_batchnorm, line_gradient, neighbour_correlation, shattered


def test_neighbour_correlation_of_known_sequences() -> None:
    assert neighbour_correlation(torch.linspace(-3, 5, 256)) == pytest.approx(1.0, abs=1e-12)  # a ramp
    assert neighbour_correlation(torch.full((256,), 0.7)) == 1.0  # a constant: a linear function's gradient
    assert neighbour_correlation(torch.tensor([1.0, -1.0] * 128)) == pytest.approx(-1.0, abs=1e-12)
    noise = torch.randn(256, generator=torch.Generator().manual_seed(0))
    assert abs(neighbour_correlation(noise)) < 0.15  # white noise: 1/sqrt(256) is 0.06
    smooth = torch.cumsum(noise, 0)  # brown noise: a random walk
    assert neighbour_correlation(smooth) > 0.9
    with pytest.raises(ValueError):
        neighbour_correlation(torch.tensor([1.0, 2.0]))


class Quadratic(nn.Module):
    """f(x) = (w . x)^2 for every output; along x(t) = b + t d its derivative is 2 (w.b + t w.d)(w.d)."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = (x.flatten(1) * self.w.flatten()).sum(1, keepdim=True)
        return (s * s).expand(-1, 2)


def test_a_linear_function_has_a_constant_gradient_and_correlation_one() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    base, direction = torch.randn(3, 8, 8), torch.randn(3, 8, 8)
    line = line_gradient(net, base, direction, output=1, calibration=torch.randn(16, 3, 8, 8))
    assert len(line.gradient) == 256 and line.t[0] == -1.0 and line.t[-1] == 1.0
    g = torch.tensor(line.gradient)
    assert torch.allclose(g, g[0].expand_as(g), rtol=1e-5)
    assert line.autocorrelation == 1.0


def test_a_quadratic_has_the_hand_computed_gradient_along_the_line() -> None:
    g = torch.Generator().manual_seed(1)
    w, base, direction = (torch.randn(3, 4, 4, generator=g) for _ in range(3))
    line = line_gradient(Quadratic(w), base, direction, output=0, points=64)
    t = torch.tensor(line.t)
    wb, wd = float((w * base).sum()), float((w * direction).sum())
    expected = 2 * (wb + t * wd) * wd
    assert torch.allclose(torch.tensor(line.gradient), expected, rtol=1e-4, atol=1e-4)
    assert line.autocorrelation == pytest.approx(1.0, abs=1e-6)  # linear in t


def test_batchnorm_calibration_sets_the_batch_statistics_and_line_gradient_restores_them() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 8 * 8, 2))
    images = torch.randn(32, 3, 8, 8)
    calibrate_batchnorm(net, images)
    with torch.no_grad():
        features = net[0](images)
    assert torch.allclose(net[1].running_mean, features.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(net[1].running_var, features.var((0, 2, 3), unbiased=True), rtol=1e-4)
    assert net[1].momentum == 0.1 and not net.training

    fresh = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 8 * 8, 2))
    fresh.train()
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    line_gradient(fresh, images[0], images[1], output=0, calibration=images)
    assert fresh.training and all(torch.equal(before[k], v) for k, v in fresh.state_dict().items())


def test_the_points_on_the_line_do_not_influence_each_other() -> None:
    """Eval mode: the gradient at a point is the same computed alone or among 256."""
    from resnet_core.insight.nets import build_net

    net = build_net(20, False, scale=QUICK, seed=0)
    probe = make_probe(eval_split(synthetic=True, size=64), 32, input_size=16)
    base, direction = probe.images[0], probe.images[1] - probe.images[0]
    line = line_gradient(net, base, direction, output=3, calibration=probe.images)
    calibrate_batchnorm(net, probe.images)
    x = (base + line.t[10] * direction).unsqueeze(0).requires_grad_(True)
    (gx,) = torch.autograd.grad(net(x)[0, 3], x)
    assert float((gx[0] * direction).sum()) == pytest.approx(line.gradient[10], rel=1e-3, abs=1e-6)


def test_deep_plain_gradients_shatter_and_residual_ones_do_not() -> None:
    probe = make_probe(eval_split(synthetic=True, size=256), 64, input_size=QUICK.resolution, seed=0)
    plain = shattered(56, False, probe, scale=QUICK, seed=0).line.autocorrelation
    residual = shattered(56, True, probe, scale=QUICK, seed=0).line.autocorrelation
    assert plain < 0.5 < residual
