"""The whole-network anatomy and the diagrams drawn from it, for every registered variant."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from resnet_core.anatomy import anatomy_of, format_shape, network_anatomy, representative_blocks
from resnet_core.cam import stage_layers
from resnet_core.diagrams import block_dot, network_dot, stage_dot
from resnet_core.models import create_model, get_spec, list_models, shortcut_kind
from resnet_core.summary import summarize

VARIANTS = [(name, residual) for name in list_models() for residual in (True, False)]


def meta_model(name: str, residual: bool) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, residual=residual)


@pytest.mark.parametrize(("name", "residual"), VARIANTS, ids=[f"{n}-{'res' if r else 'plain'}" for n, r in VARIANTS])
def test_anatomy_matches_the_models_own_modules_and_torchinfo(name: str, residual: bool) -> None:
    anatomy = network_anatomy(name, residual=residual)
    model = meta_model(name, residual)
    modules = dict(model.named_modules())
    # Output shapes as torchinfo traces them: an independent record of the same forward pass.
    traced = {row.name: row.output_shape[1:] for row in summarize(name, residual=residual).layers}
    size = get_spec(name).input_size

    assert anatomy.input_shape == (3, size, size)
    assert [s.name for s in anatomy.stages] == stage_layers(model)
    assert anatomy.stages[0].in_shape == anatomy.stem[-1].shape
    previous = anatomy.stem[-1].shape
    for stage in anatomy.stages:
        assert stage.out_shape == traced[stage.name]
        assert stage.in_shape == previous and stage.blocks[0].in_shape == previous
        for block in stage.blocks:
            module = modules[block.name]
            # shortcut_kind itself is checked against known blocks in test_models.py; here, that
            # the anatomy gives each block the kind of the module of that name.
            assert block.shortcut == shortcut_kind(module), block.name
            assert block.out_shape == traced[block.name], block.name
            assert block.in_shape == previous, block.name  # blocks chain, nothing skipped
            convs = [m for n, m in module.named_modules() if isinstance(m, nn.Conv2d) and "downsample" not in n]
            assert block.out_shape[0] == convs[-1].out_channels
            assert [s.text.split(",")[0] for s in block.steps if "conv" in s.text] == [
                f"{c.kernel_size[0]}x{c.kernel_size[1]} conv" for c in convs
            ]
            assert block.parameters == sum(p.numel() for p in module.parameters())
            previous = block.out_shape
        assert stage.blocks[-1].out_shape == stage.out_shape
    # Every parameter of the stages belongs to exactly one block.
    stage_params = sum(p.numel() for s in anatomy.stages for p in modules[s.name].parameters())
    assert sum(b.parameters for b in anatomy.blocks) == stage_params
    assert anatomy.head[-1].shape == (get_spec(name).num_classes,)
    if not residual:
        assert {b.shortcut for b in anatomy.blocks} == {"none"}
    if get_spec(name).block != "conv_bn":  # ResNet-9 counts its stages' units differently
        assert tuple(len(s.blocks) for s in anatomy.stages) == get_spec(name).layers


def test_resnet18_and_resnet50_shortcuts_and_layouts() -> None:
    r18 = network_anatomy("resnet18")
    assert [b.shortcut for b in r18.blocks] == ["identity", "identity"] + ["projection", "identity"] * 3
    assert [s.text for s in r18.stem] == ["7x7 conv, 64, stride 2", "BN, ReLU", "3x3 max pool, stride 2"]
    down = r18.stages[1].blocks[0]
    assert down.shortcut_text == "1x1 conv, 128, stride 2, BN"
    assert [s.text for s in down.steps] == ["3x3 conv, 128, stride 2", "BN, ReLU", "3x3 conv, 128", "BN"]
    assert down.after_add == ("ReLU",) and down.out_shape == (128, 28, 28)

    r50 = network_anatomy("resnet50")
    first = r50.stages[0].blocks[0]
    assert first.kind == "bottleneck" and first.shortcut == "projection"  # 64 -> 256 channels, same size
    assert first.shortcut_text == "1x1 conv, 256, BN" and first.out_shape == (256, 56, 56)
    assert r50.stages[0].shortcut_summary() == "projection (1x1 conv), then 2 x identity"
    assert [s.text for s in r50.head] == ["global average pool", "fc, 1000"]


def test_cifar_nets_use_zero_padding_and_resnet9_mixes_units_and_blocks() -> None:
    r56 = network_anatomy("resnet56")
    assert [s.text for s in r56.stem] == ["3x3 conv, 16", "BN, ReLU"]  # the Identity "pool" is left out
    assert r56.stages[1].blocks[0].shortcut == "zero_pad"
    assert r56.stages[1].blocks[0].shortcut_text == "subsample by 2, pad 16 zero channels"
    assert r56.stages[1].shortcut_summary() == "zero-padding (option A), then 8 x identity"
    assert [s.out_shape for s in r56.stages] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]

    r9 = network_anatomy("resnet9_w24")
    assert [(b.name, b.kind, b.shortcut) for b in r9.blocks] == [
        ("layer1.0", "conv_bn", "none"),
        ("layer1.1", "residual", "identity"),
        ("layer2", "conv_bn", "none"),
        ("layer3.0", "conv_bn", "none"),
        ("layer3.1", "residual", "identity"),
    ]
    assert r9.stages[-1].out_shape == (192, 4, 4)  # the shipped model's 4x4 last stage
    assert [s.text for s in r9.blocks[0].steps] == ["3x3 conv, 48", "BN, ReLU", "2x2 max pool"]
    assert [s.text for s in r9.head] == ["global max pool", "fc, 10"]


def test_a_real_model_gives_the_same_anatomy_as_the_meta_one() -> None:
    torch.manual_seed(0)
    assert anatomy_of(create_model("resnet20"), 32, name="resnet20") == network_anatomy("resnet20")


def test_input_size_changes_shapes_not_structure() -> None:
    small = network_anatomy("resnet18", input_size=64)
    assert small.stages[-1].out_shape == (512, 2, 2)
    assert [b.shortcut for b in small.blocks] == [b.shortcut for b in network_anatomy("resnet18").blocks]


# ---- Diagrams -------------------------------------------------------------------------------

EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.MULTILINE)
NODE = re.compile(r"^\s*(\w+) \[label=", re.MULTILINE)


def edges(dot: str) -> set[tuple[str, str]]:
    return set(EDGE.findall(dot))


def assert_well_formed(dot: str) -> None:
    assert dot.startswith("digraph") and dot.count("{") == dot.count("}")
    # Every edge joins declared nodes (a typo would make graphviz invent an unlabelled one).
    assert {n for e in edges(dot) for n in e} <= set(NODE.findall(dot))


@pytest.mark.parametrize(("name", "residual"), VARIANTS, ids=[f"{n}-{'res' if r else 'plain'}" for n, r in VARIANTS])
def test_every_variant_draws_its_own_blocks_stages_and_network(name: str, residual: bool) -> None:
    anatomy = network_anatomy(name, residual=residual)
    for block in representative_blocks(anatomy):
        dot = block_dot(block)
        assert_well_formed(dot)
        assert (("x", "add") in edges(dot)) == block.has_shortcut  # the shortcut into the addition
        assert ("add [" in dot) == block.has_shortcut
        for step in block.steps:  # the variant's own widths and strides
            assert step.text in dot
        assert f"x: {format_shape(block.in_shape)}" in dot and format_shape(block.out_shape) in dot
    for stage in anatomy.stages:
        assert_well_formed(stage_dot(stage))
    dot = network_dot(anatomy)
    assert_well_formed(dot)
    for stage in anatomy.stages:
        assert stage.paper_name in dot and format_shape(stage.out_shape) in dot


def test_block_diagrams_follow_the_shortcut_kind() -> None:
    r18 = network_anatomy("resnet18")
    identity, projection = representative_blocks(r18)
    assert (identity.name, projection.name) == ("layer1.0", "layer2.0")
    assert "Residual basic block · layer1.0" in block_dot(identity)
    proj = block_dot(projection)
    assert 'x -> add [label="projection: 1x1 conv, 128, stride 2, BN"' in proj and "#0072B2" in proj
    zero = block_dot(network_anatomy("resnet20").stages[1].blocks[0])
    assert "zero-pad: subsample by 2, pad 16 zero channels" in zero and "style=dashed" in zero.split("x -> add")[1]
    plain = block_dot(network_anatomy("resnet18", residual=False).stages[1].blocks[0])
    assert "Plain basic block" in plain and ("x", "s0") in edges(plain) and ("a0", "out") in edges(plain)
    bottleneck = [block_dot(b) for b in representative_blocks(network_anatomy("resnet50"))]
    assert all("1x1 conv, 64" in d and "1x1 conv, 256" in d for d in bottleneck[:2])


def test_representative_blocks_cover_each_sort_once() -> None:
    names = lambda n, r=True: [b.name for b in representative_blocks(network_anatomy(n, residual=r))]  # noqa: E731
    assert names("resnet50") == ["layer1.0", "layer1.1"]
    assert names("resnet56") == ["layer1.0", "layer2.0"]
    assert names("resnet18", False) == ["layer1.0", "layer2.0"]
    assert names("resnet9_w24") == ["layer1.0", "layer1.1"]


def test_long_stages_fold_their_middle_blocks() -> None:
    stage = network_anatomy("resnet110").stages[1]  # 18 blocks
    dot = stage_dot(stage, max_blocks=5)
    assert "... 14 more blocks" in dot and "layer2.3 to layer2.16" in dot
    assert "layer2.0\\n" in dot and "layer2.17\\n" in dot and "layer2.5\\n" not in dot
    assert dot.count('label="+"') == 4  # three blocks before the fold and the last, each with its addition
    assert "subsample by 2" in dot  # the first block's zero-padding shortcut is labelled
    assert_well_formed(dot)
