"""What each stage sees: the feature maps of the stem and every stage, checked against the modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_core.anatomy import network_anatomy
from resnet_core.features import feature_grid, feature_layers, stage_features
from resnet_core.models import create_model


def model(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, **kwargs).eval()


def hooks(m: nn.Module) -> int:
    return sum(len(x._forward_hooks) for x in m.modules())


def test_feature_layers_start_at_the_stem() -> None:
    assert feature_layers(model("resnet18")) == [("stem", "layer1")] + [(f"layer{i}", f"layer{i}") for i in range(1, 5)]
    assert feature_layers(model("resnet9_w16")) == [("stem", "layer1"), ("layer1", "layer1"), ("layer2", "layer2"), ("layer3", "layer3")]


def by_hand(net: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The stem's and each stage's output, calling the modules in the order their forward does."""
    with torch.no_grad():
        if hasattr(net, "prep"):
            h = net.prep(x)
        else:
            h = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        out = {"stem": h[0].clone()}
        for i in range(1, net.num_stages + 1):
            h = getattr(net, f"layer{i}")(h)
            out[f"layer{i}"] = h[0].clone()
    return out


@pytest.mark.parametrize("name", ["resnet20", "resnet18", "resnet9_w16"])
def test_stage_features_are_the_modules_outputs_strongest_first(name: str) -> None:
    net = model(name)
    torch.manual_seed(1)
    x = torch.randn(1, 3, 32, 32)
    features = stage_features(net, x, top=5)
    # Shapes fall and channels grow exactly as the anatomy (a meta-device walk) says.
    anatomy = network_anatomy(name, input_size=32)
    assert [f.shape for f in features] == [anatomy.stem[-1].shape] + [s.out_shape for s in anatomy.stages]
    expected = by_hand(net, x)
    for f in features:
        act = expected[f.name]
        means = act.mean(dim=(1, 2))
        assert list(f.channels) == means.topk(5).indices.tolist()
        assert f.strength == pytest.approx(means.topk(5).values.tolist(), rel=1e-5)
        assert f.peak == pytest.approx(float(act.max()), rel=1e-5)
        assert torch.allclose(f.maps, act[list(f.channels)] / f.peak, atol=1e-6)
        assert f.maps.min() >= 0 and f.maps.max() <= 1


def test_the_model_is_left_as_found() -> None:
    net = create_model("resnet20")  # train mode, as a model fresh from training would be
    before = {k: v.clone() for k, v in net.state_dict().items()}
    stage_features(net, torch.randn(1, 3, 32, 32))
    assert net.training and hooks(net) == 0
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())  # BN statistics untouched


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="one image"):
        stage_features(model("resnet20"), torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="top"):
        stage_features(model("resnet20"), torch.randn(1, 3, 32, 32), top=0)


def test_feature_grid_keeps_each_position_a_square() -> None:
    features = stage_features(model("resnet9_w16"), torch.randn(1, 3, 32, 32), top=8)[-1]  # 4x4 maps
    grid = feature_grid(features, cell=64, columns=4, gap=2)
    assert grid.size == (4 * 64 + 3 * 2, 2 * 64 + 2)
    import numpy as np

    tile = np.asarray(grid)[:64, :64]
    assert (tile[:16, :16] == tile[0, 0]).all()  # one feature position = one 16x16 block
