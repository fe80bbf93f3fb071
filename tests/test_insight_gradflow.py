"""Gradient flow at initialisation: checked against gradients worked out by hand, then on the registry's nets."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from resnet_core.insight.gradflow import conv_layers, gradient_flow, relative_gradient_norms
from resnet_core.insight.nets import QUICK, build_net
from resnet_core.insight.probe import eval_split, make_probe


def _softmax_error(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """dL/dlogits of the mean cross-entropy: (softmax - one-hot) / N."""
    p = torch.exp(logits - logits.max(1, keepdim=True).values)
    p = p / p.sum(1, keepdim=True)
    return (p - torch.eye(logits.shape[1])[labels]) / logits.shape[0]


def test_two_layer_profile_matches_the_hand_computed_gradient() -> None:
    # 1x1 convs on 1x1 images are matrix products: z = W2 W1 x, so the chain rule by hand gives
    # dL/dW2 = E^T h and dL/dW1 = (E W2)^T x with E = dL/dz and h = W1 x.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.Conv2d(4, 5, 1, bias=False), nn.Flatten())
    x = torch.randn(6, 3, 1, 1, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    net = net.double()
    w1, w2 = net[0].weight.detach()[:, :, 0, 0], net[1].weight.detach()[:, :, 0, 0]
    xs = x[:, :, 0, 0]
    h = xs @ w1.T
    e = _softmax_error(h @ w2.T, y)
    g2, g1 = e.T @ h, (e @ w2).T @ xs
    expected = [float(g1.norm() / w1.norm()), float(g2.norm() / w2.norm())]

    flow = relative_gradient_norms(net, x, y)
    assert flow.layers == ("0", "1")  # input to output
    assert flow.relative_grad_norms == pytest.approx(expected, rel=1e-9)
    assert flow.grad_norms == pytest.approx([float(g1.norm()), float(g2.norm())], rel=1e-9)
    assert flow.spread == pytest.approx(abs(math.log10(expected[0] / expected[1])))


def test_the_model_is_left_as_it_was() -> None:
    net = build_net(20, True, scale=QUICK, seed=0).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    probe = make_probe(eval_split(synthetic=True, size=64), 16, input_size=16)
    relative_gradient_norms(net, probe.images, probe.labels)
    assert not net.training and not any(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # BN statistics too
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("depth", [20, 56])
def test_every_conv_of_a_paper_net_input_to_output(depth: int) -> None:
    net = build_net(depth, False, scale=QUICK, seed=0)
    names = [name for name, _ in conv_layers(net)]
    assert len(names) == depth - 1  # 6n+2 layers: all but the final fc are convs (option A: no projections)
    n = (depth - 2) // 6
    assert names[0] == "conv1" and names[1] == "layer1.0.conv1" and names[-1] == f"layer3.{n - 1}.conv2"


def test_with_batch_norm_a_deep_plain_net_blows_up_toward_the_input() -> None:
    """What the page says, measured: plain-56's gradients grow toward the input; ResNet-56's stay in a band."""
    probe = make_probe(eval_split(synthetic=True, size=256), 64, input_size=QUICK.resolution, seed=0)
    plain = gradient_flow(56, False, probe, scale=QUICK, seed=0).flow
    residual = gradient_flow(56, True, probe, scale=QUICK, seed=0).flow
    assert plain.relative_grad_norms[0] > 100 * plain.relative_grad_norms[-1]
    assert plain.spread > residual.spread + 1.0
    assert residual.spread < 2.0
