"""Layer responses: which layers count, a response std computed by hand, hooks always removed."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from racenets import assert_shared_net_untouched

from resnet_core.insight.nets import QUICK, build_net
from resnet_core.insight.responses import conv3x3_bns, layer_responses, recording
from resnet_core.models import create_model


def test_the_3x3_layers_of_a_basic_and_a_bottleneck_net() -> None:
    names = [n for n, _ in conv3x3_bns(build_net(20, True, scale=QUICK))]
    assert len(names) == 19 and names[:3] == ["bn1", "layer1.0.bn1", "layer1.0.bn2"]
    # ResNet-50: a 7x7 stem and 1x1 convs (and projection shortcuts) do not count, one 3x3 per bottleneck.
    names50 = [n for n, _ in conv3x3_bns(create_model("resnet50"))]
    assert len(names50) == 16 and all(n.endswith(".bn2") for n in names50)


def test_response_std_by_hand() -> None:
    """conv = identity, BN in eval with mean 0, var 1, scale 2, shift 3: the response is 2x + 3."""
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1] = 1.0
    bn = nn.BatchNorm2d(1, eps=0.0)
    with torch.no_grad():
        bn.weight.fill_(2.0)
        bn.bias.fill_(3.0)
    net = nn.Sequential(conv, bn, nn.ReLU(inplace=True))  # the in-place ReLU must not hide the negatives
    x = torch.randn(50, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    result = layer_responses(net, x, chunk=7)  # several chunks: moments must add up across them
    assert result.layers == ("1",) and result.images == 50
    assert result.stds[0] == pytest.approx(float((2 * x).double().std()), rel=1e-6)


def test_hooks_are_removed_even_after_an_error() -> None:
    net = build_net(20, True, scale=QUICK)
    layers = conv3x3_bns(net)
    with pytest.raises(RuntimeError):
        with recording(layers):
            assert all(len(m._forward_hooks) == 1 for _, m in layers)
            net(torch.randn(2, 5, 16, 16))  # wrong channel count
    assert all(len(m._forward_hooks) == 0 for _, m in layers)


def test_model_mode_and_statistics_unchanged() -> None:
    net = build_net(20, False, scale=QUICK).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    layer_responses(net, torch.randn(8, 3, 16, 16))
    assert net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_shared_model_is_never_run_nor_hooked() -> None:
    """The app shares its trained nets between sessions (threads): the experiment works on a private copy."""
    assert_shared_net_untouched(lambda net: layer_responses(net, torch.randn(8, 3, 16, 16)))
