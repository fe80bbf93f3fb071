"""The model zoo: shapes, exact parameter counts, plain twins, torchvision compatibility, registry.

Parametrized over ``list_models()`` so a variant is tested the day it is registered. Parameter
counts and depths are checked on the meta device (no memory, no init); forward passes use a
batch of one so the file stays well under a minute on 2 CPU cores.
"""

from __future__ import annotations

from functools import lru_cache

import pytest
import torch
import torchvision
from torch import nn

from resnet_core.models import (
    BasicBlock,
    Bottleneck,
    Residual,
    ZeroPadShortcut,
    conv_bn,
    create_model,
    find_twin,
    get_spec,
    list_models,
    register_model,
    shortcut_kind,
)

# The paper's / torchvision's published counts for the ImageNet nets; the CIFAR ones follow from
# section 4.2 (0.27M for ResNet-20, 1.7M for ResNet-110) and the DAWNBench ResNet-9.
PARAMETERS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "resnet18_cifar": 11_173_962,
    "resnet9": 6_573_130,
    # Width w: 3x3 convs 27w + 18w^2 + 72w^2 + 72w^2 + 288w^2 + 1152w^2, BN 70w, fc 80w + 10.
    "resnet9_w16": 412_954,
    "resnet9_w24": 927_010,
}
# Another input size each family must accept: the stages only need the size to stay >= 1 px.
OTHER_SIZE = {"imagenet": 160, "cifar": 64}
BLOCKS = (BasicBlock, Bottleneck, Residual)


def meta_model(name: str, **kwargs: object) -> nn.Module:
    """A registered model on the meta device: parameter shapes without memory or init."""
    with torch.device("meta"):
        return create_model(name, **kwargs)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@lru_cache(maxsize=None)
def real_model(name: str) -> nn.Module:
    """A seeded, residual, eval-mode model, built once per test session (ResNet-152 takes ~1 s)."""
    torch.manual_seed(0)
    return create_model(name).eval()


def test_every_variant_has_a_known_parameter_count() -> None:
    assert sorted(list_models()) == sorted(PARAMETERS)


def test_featured_variants_span_the_paper() -> None:
    """The default comparison: every ImageNet net, the paper's shallowest and deepest CIFAR nets."""
    featured = list_models(featured=True)
    assert featured == [n for n in list_models() if get_spec(n).featured]  # registration order
    assert set(list_models("imagenet")) <= set(featured)
    paper = [n for n in list_models("cifar") if get_spec(n).paper_family]
    assert paper[0] in featured and paper[-1] in featured
    assert len(featured) < len(list_models())  # a selection, not everything


@pytest.mark.parametrize("name", list_models())
def test_parameter_count_is_exact(name: str) -> None:
    assert n_params(meta_model(name)) == PARAMETERS[name]


@pytest.mark.parametrize("name", list_models())
def test_depth_counts_convs_and_fc_but_not_projections(name: str) -> None:
    model = meta_model(name)
    weighted = [
        n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in n
    ]
    assert len(weighted) == get_spec(name).depth


@pytest.mark.parametrize("name", list_models())
def test_forward_at_native_size_gives_finite_logits(name: str) -> None:
    spec = get_spec(name)
    with torch.no_grad():
        out = real_model(name)(torch.randn(1, 3, spec.input_size, spec.input_size))
    assert out.shape == (1, spec.num_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list_models())
def test_forward_shape_at_another_size(name: str) -> None:
    # Shapes only, so the meta device answers exactly without computing anything.
    spec = get_spec(name)
    size = OTHER_SIZE[spec.family]
    out = meta_model(name)(torch.empty(1, 3, size, size, device="meta"))
    assert out.shape == (1, spec.num_classes)


@pytest.mark.parametrize("name", list_models())
def test_num_classes_override(name: str) -> None:
    model = meta_model(name, num_classes=7)
    size = get_spec(name).input_size
    assert model(torch.empty(2, 3, size, size, device="meta")).shape == (2, 7)
    assert model.fc.out_features == 7


@pytest.mark.parametrize("name", list_models())
def test_plain_twin_drops_only_the_projection_shortcuts(name: str) -> None:
    residual, plain = meta_model(name), meta_model(name, residual=False)
    projections = sum(n_params(m) for n, m in residual.named_modules() if n.endswith("downsample"))
    assert n_params(plain) == n_params(residual) - projections
    if get_spec(name).family == "cifar" and name != "resnet18_cifar":
        # Option-A shortcuts and ResNet-9's identity additions have no weights at all.
        assert projections == 0
    # Every block knows it is plain; none keeps a shortcut module.
    blocks = [m for m in plain.modules() if isinstance(m, BLOCKS)]
    assert blocks and all(not b.residual for b in blocks)
    assert all(getattr(b, "downsample", None) is None for b in blocks)


@pytest.mark.parametrize("block", [BasicBlock(16, 16), Bottleneck(64, 16)], ids=["basic", "bottleneck"])
def test_block_adds_the_identity_only_when_residual(block: nn.Module) -> None:
    block.eval()
    x = torch.randn(2, block.conv1.in_channels, 8, 8)
    last_bn = block.bn3 if isinstance(block, Bottleneck) else block.bn2
    captured: list[torch.Tensor] = []
    handle = last_bn.register_forward_hook(lambda m, i, o: captured.append(o))
    with torch.no_grad():
        block.residual = True
        with_shortcut = block(x)
        block.residual = False
        without = block(x)
    handle.remove()
    f_x = captured[0]  # the residual function F(x) before the final ReLU
    torch.testing.assert_close(with_shortcut, torch.relu(f_x + x))
    torch.testing.assert_close(without, torch.relu(f_x))


@pytest.mark.parametrize("name", ["resnet20", "resnet18_cifar", "resnet9"])
def test_plain_twin_with_the_same_weights_computes_something_else(name: str) -> None:
    torch.manual_seed(0)
    residual = create_model(name).eval()
    plain = create_model(name, residual=False).eval()
    # Plain nets have no projection weights to receive; every other weight must match by name.
    missing, unexpected = plain.load_state_dict(residual.state_dict(), strict=False)
    assert missing == [] and all(".downsample." in k for k in unexpected)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(residual(x), plain(x), atol=1e-3)


@pytest.mark.parametrize("name", list_models("imagenet"))
def test_torchvision_state_dict_loads_strictly_and_gives_the_same_outputs(name: str) -> None:
    torch.manual_seed(0)
    reference = getattr(torchvision.models, get_spec(name).torchvision_name)().eval()
    # Built on the meta device and given torchvision's tensors (assign=True): strict loading still
    # checks every key and shape, and we skip initialising weights that are replaced anyway.
    ours = meta_model(name).eval()
    ours.load_state_dict(reference.state_dict(), strict=True, assign=True)
    x = torch.randn(1, 3, 96, 96)  # any size works; 96 px keeps ResNet-152 cheap
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))


@pytest.mark.parametrize("name", list_models())
def test_zero_init_residual_makes_every_block_start_as_its_shortcut(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, zero_init_residual=True).eval()
    checked: list[str] = []

    def check(block: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
        (x,) = inputs
        downsample = getattr(block, "downsample", None)
        shortcut = x if downsample is None else downsample(x)
        torch.testing.assert_close(output, torch.relu(shortcut))
        checked.append(type(block).__name__)

    handles = [m.register_forward_hook(check) for m in model.modules() if isinstance(m, BLOCKS)]
    spec = get_spec(name)
    size = 32 if spec.family == "imagenet" else spec.input_size  # blocks are size-agnostic; keep it cheap
    with torch.no_grad():
        model(torch.randn(1, 3, size, size))
    for h in handles:
        h.remove()
    # ResNet-9s have two residual units (in layer1 and layer3); the others one block per layer entry.
    assert len(checked) == (2 if spec.block == "conv_bn" else sum(spec.layers))


def test_unknown_name_lists_the_registered_ones() -> None:
    with pytest.raises(KeyError) as excinfo:
        create_model("resnet19")
    message = str(excinfo.value)
    assert "resnet19" in message
    assert all(n in message for n in list_models())


def test_registering_a_name_twice_raises_and_keeps_the_first() -> None:
    before = list_models()
    spec = get_spec("resnet18")
    with pytest.raises(ValueError, match="already registered"):
        register_model(spec)
    assert list_models() == before
    assert get_spec("resnet18") is spec


def test_list_models_filters_by_family() -> None:
    assert list_models("imagenet") == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert set(list_models("cifar")) == set(PARAMETERS) - set(list_models("imagenet"))


def test_find_twin_pairs_plain_and_residual_of_the_same_variant() -> None:
    runs = {"a": ("resnet20", True), "b": ("resnet56", False), "c": ("resnet20", False)}
    assert find_twin("resnet20", True, runs, lambda r: r) == ("c", ("resnet20", False))
    assert find_twin("resnet20", False, runs, lambda r: r) == ("a", ("resnet20", True))
    assert find_twin("resnet56", False, runs, lambda r: r) is None


@pytest.mark.parametrize(("name", "kinds"), [
    ("resnet20", {"layer1.0": "identity", "layer2.0": "zero_pad", "layer2.1": "identity", "layer3.0": "zero_pad"}),
    ("resnet18", {"layer1.0": "identity", "layer2.0": "projection", "layer4.0": "projection", "layer4.1": "identity"}),
    ("resnet50", {"layer1.0": "projection", "layer1.1": "identity"}),  # the first bottleneck widens 64 -> 256
])
def test_shortcut_kind_reads_each_block(name: str, kinds: dict[str, str]) -> None:
    blocks = dict(meta_model(name).named_modules())
    assert {n: shortcut_kind(blocks[n]) for n in kinds} == kinds
    plain = dict(meta_model(name, residual=False).named_modules())
    assert {shortcut_kind(plain[n]) for n in kinds} == {"none"}


def test_shortcut_kind_of_resnet9_units_and_other_modules() -> None:
    assert shortcut_kind(Residual(conv_bn(8, 8))) == "identity"
    assert shortcut_kind(Residual(conv_bn(8, 8), residual=False)) == "none"
    assert shortcut_kind(conv_bn(8, 8, pool=True)) == "none"
    assert shortcut_kind(BasicBlock(8, 16, stride=2, downsample=ZeroPadShortcut(8, 16, 2))) == "zero_pad"
    assert shortcut_kind(nn.ReLU()) == "none"
