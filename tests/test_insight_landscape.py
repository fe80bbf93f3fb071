"""Loss-landscape slice: filter-normalised directions, the trained point at alpha 0, the model untouched."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from resnet_core.insight.landscape import filter_normalized_direction, loss_slice
from racenets import assert_shared_net_untouched

from resnet_core.insight.nets import QUICK, InsightError, build_net


def test_each_filter_of_the_direction_has_its_weights_norm() -> None:
    net = build_net(20, True, scale=QUICK)
    direction = filter_normalized_direction(net, seed=3)
    for name, p in net.named_parameters():
        d = direction[name]
        if p.dim() == 1:
            assert not d.any(), name  # BN and biases stay still
        else:
            assert torch.allclose(d.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1), rtol=1e-5), name
    again = filter_normalized_direction(net, seed=3)
    assert all(torch.equal(direction[k], again[k]) for k in direction)


def test_alpha_zero_is_the_model_itself_and_the_model_is_untouched() -> None:
    net = build_net(20, True, scale=QUICK, seed=0).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(40, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.arange(40) % 10
    result = loss_slice(net, x, y, points=5, chunk=16)
    assert result.alphas == pytest.approx((-1.0, -0.5, 0.0, 0.5, 1.0))
    net.eval()
    with torch.no_grad():
        logits = net(x)
    assert result.losses[2] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert result.accs[2] == int((logits.argmax(1) == y).sum()) / 40
    assert result.losses[0] != result.losses[2]  # moving the weights moves the loss
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_bad_arguments() -> None:
    net = build_net(20, True, scale=QUICK)
    with pytest.raises(InsightError):
        loss_slice(net, torch.randn(4, 3, 16, 16), torch.zeros(4, dtype=torch.long), points=1)
    with pytest.raises(InsightError):
        loss_slice(net, torch.randn(4, 3, 16, 16), torch.zeros(3, dtype=torch.long))


def test_a_shared_model_is_never_run_nor_hooked() -> None:
    """The app shares its trained nets between sessions (threads): the experiment works on a private copy."""
    assert_shared_net_untouched(lambda net: loss_slice(net, torch.randn(8, 3, 16, 16), torch.zeros(8, dtype=torch.long), points=3))
