"""Summaries (totals, per-layer rows, Table 1 per stage) and the comparison data."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import torch
import torchinfo

from resnet_core.models import create_model, get_spec, list_models
from resnet_core.summary import (
    COMPARISON_FILE,
    ModelSummary,
    compare_models,
    format_count,
    layout_source,
    records,
    shipped_comparison,
    summarize,
)

# torchvision's published "GFLOPS" for IMAGENET1K_V1, which are multiply-accumulates at 224x224.
TORCHVISION_GMACS = {
    "resnet18": 1.81,
    "resnet34": 3.66,
    "resnet50": 4.09,
    "resnet101": 7.80,
    "resnet152": 11.51,
}


def n_params(name: str, residual: bool = True) -> int:
    with torch.device("meta"):
        model = create_model(name, residual=residual)
    return sum(p.numel() for p in model.parameters())


def stage_table(summary: ModelSummary) -> list[tuple[str, tuple[int, int], str, int]]:
    return [(s.stage, s.output_size, s.layout, s.repeats) for s in summary.stages]


@pytest.mark.parametrize("name", list(TORCHVISION_GMACS))
def test_mult_adds_match_torchvision_published_figures(name: str) -> None:
    assert round(summarize(name).totals.mult_adds / 1e9, 2) == TORCHVISION_GMACS[name]


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("residual", [True, False], ids=["residual", "plain"])
def test_totals_and_stage_sums_agree_with_the_model(name: str, residual: bool) -> None:
    summary = summarize(name, residual=residual)
    totals = summary.totals
    assert totals.parameters == totals.trainable_parameters == n_params(name, residual)
    assert totals.params_bytes == 4 * totals.parameters  # float32
    assert totals.input_bytes == 4 * 3 * summary.input_size**2
    # The stages of Table 1 partition the network: nothing counted twice, nothing left out.
    assert sum(s.parameters for s in summary.stages) == totals.parameters
    assert sum(s.mult_adds for s in summary.stages) == totals.mult_adds
    assert summary.input_size == get_spec(name).input_size
    assert summary.description == get_spec(name).description


@pytest.mark.parametrize("name", ["resnet18", "resnet20", "resnet9"])
def test_meta_device_trace_equals_a_real_forward_pass(name: str) -> None:
    size = get_spec(name).input_size
    real = torchinfo.summary(create_model(name), input_size=(1, 3, size, size), verbose=0)
    summary = summarize(name)
    assert summary.totals.parameters == real.total_params
    assert summary.totals.mult_adds == real.total_mult_adds
    assert summary.totals.forward_backward_bytes == real.total_output_bytes
    # Our rows leave out nn.Identity (the CIFAR stems' stand-in for the pool); torchinfo lists it.
    real_shapes = [tuple(info.output_size) for info in real.summary_list if info.depth > 0 and info.class_name != "Identity"]
    assert [row.output_shape for row in summary.layers] == real_shapes


def test_layer_rows_use_module_names_and_sum_their_leaves() -> None:
    summary = summarize("resnet18")
    rows = {row.name: row for row in summary.layers}
    conv1 = rows["conv1"]
    assert (conv1.type, conv1.depth, conv1.output_shape) == ("Conv2d", 1, (1, 64, 112, 112))
    assert conv1.parameters == 64 * 3 * 7 * 7
    assert conv1.mult_adds == 64 * 3 * 7 * 7 * 112 * 112
    projection = rows["layer2.0.downsample.0"]
    assert (projection.type, projection.output_shape, projection.parameters) == ("Conv2d", (1, 128, 28, 28), 64 * 128)
    # A container's mult-adds are those of everything inside it.
    inside = [r for r in summary.layers if r.name.startswith("layer3.") and r.type in ("Conv2d", "BatchNorm2d")]
    assert rows["layer3"].mult_adds == sum(r.mult_adds for r in inside)
    assert rows["layer3"].parameters == sum(r.parameters for r in inside)
    assert summary.layers[-1].name == "fc" and summary.layers[-1].output_shape == (1, 1000)


def test_table_1_for_resnet18() -> None:
    assert stage_table(summarize("resnet18")) == [
        ("conv1", (112, 112), "7x7, 64, stride 2", 1),
        ("conv2_x", (56, 56), "3x3 max pool, stride 2; [3x3, 64; 3x3, 64] x 2", 2),
        ("conv3_x", (28, 28), "[3x3, 128; 3x3, 128] x 2", 2),
        ("conv4_x", (14, 14), "[3x3, 256; 3x3, 256] x 2", 2),
        ("conv5_x", (7, 7), "[3x3, 512; 3x3, 512] x 2", 2),
        ("head", (1, 1), "global average pool, 1000-d fc", 1),
    ]


def test_table_1_for_resnet50_uses_bottlenecks() -> None:
    summary = summarize("resnet50")
    assert stage_table(summary)[1:5] == [
        ("conv2_x", (56, 56), "3x3 max pool, stride 2; [1x1, 64; 3x3, 64; 1x1, 256] x 3", 3),
        ("conv3_x", (28, 28), "[1x1, 128; 3x3, 128; 1x1, 512] x 4", 4),
        ("conv4_x", (14, 14), "[1x1, 256; 3x3, 256; 1x1, 1024] x 6", 6),
        ("conv5_x", (7, 7), "[1x1, 512; 3x3, 512; 1x1, 2048] x 3", 3),
    ]
    # Even conv2_x projects: 64 channels in, 256 out.
    assert [s.shortcut for s in summary.stages[1:5]] == ["projection + identity"] * 4


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_cifar_tables_follow_the_6n_plus_2_rule_with_zero_pad_shortcuts(depth: int) -> None:
    # He et al. 2015, section 4.2: three stages of n blocks, 16, 32 and 64 filters on 32, 16 and 8 pixels.
    n = (depth - 2) // 6
    summary = summarize(f"resnet{depth}")
    assert stage_table(summary) == [
        ("conv1", (32, 32), "3x3, 16", 1),
        *((f"conv{i}_x", (size, size), f"[3x3, {width}; 3x3, {width}] x {n}", n)
          for i, (size, width) in enumerate([(32, 16), (16, 32), (8, 64)], start=2)),
        ("head", (1, 1), "global average pool, 10-d fc", 1),
    ]
    assert summary.stages[0].modules == ("conv1", "bn1", "relu")  # the stem's Identity "pool" is left out
    assert [s.shortcut for s in summary.stages[1:4]] == ["identity", "zero-pad + identity", "zero-pad + identity"]


def test_table_for_resnet9() -> None:
    summary = summarize("resnet9")
    assert stage_table(summary) == [
        ("prep", (32, 32), "3x3, 64", 1),
        ("layer1", (16, 16), "3x3, 128, 2x2 max pool + [3x3, 128; 3x3, 128]", 1),
        ("layer2", (8, 8), "3x3, 256, 2x2 max pool", 1),
        ("layer3", (4, 4), "3x3, 512, 2x2 max pool + [3x3, 512; 3x3, 512]", 1),
        ("head", (1, 1), "global max pool, 10-d fc", 1),
    ]
    assert [s.shortcut for s in summary.stages[1:4]] == ["identity", "none", "identity"]


def test_input_size_override_changes_output_sizes_not_parameters() -> None:
    summary = summarize("resnet18", input_size=160)
    assert summary.input_size == 160
    assert [s.output_size for s in summary.stages] == [(80, 80), (40, 40), (20, 20), (10, 10), (5, 5), (1, 1)]
    assert summary.totals.parameters == 11_689_512
    assert summary.totals.mult_adds < summarize("resnet18").totals.mult_adds


def test_plain_twins() -> None:
    plain18 = summarize("resnet18", residual=False)
    # Three projection shortcuts (1x1 conv + BN) are all a plain ResNet-18 lacks.
    projections = 64 * 128 + 128 * 256 + 256 * 512 + 2 * (128 + 256 + 512)
    assert plain18.totals.parameters == 11_689_512 - projections == 11_515_688
    assert not plain18.residual
    assert [s.shortcut for s in plain18.stages[1:5]] == ["none"] * 4
    assert not any("downsample" in row.name for row in plain18.layers)
    # Option-A shortcuts cost nothing: the CIFAR twins have identical counts and mult-adds.
    plain56, res56 = summarize("resnet56", residual=False), summarize("resnet56")
    assert plain56.totals == res56.totals
    assert stage_table(plain56) == stage_table(res56)


def test_unknown_model_raises_with_the_names() -> None:
    with pytest.raises(KeyError, match="resnet18"):
        summarize("resnet1000")


@pytest.mark.slow
def test_comparison_covers_every_variant_with_its_own_numbers() -> None:
    rows = {row.name: row for row in compare_models()}
    assert list(rows) == list_models()
    for name, row in rows.items():
        spec = get_spec(name)
        assert (row.family, row.depth, row.input_size) == (spec.family, spec.depth, spec.input_size)
        assert row.parameters == n_params(name)
        assert row.plain_parameters == n_params(name, residual=False)
    assert rows["resnet152"].mult_adds == summarize("resnet152").totals.mult_adds
    assert rows["resnet50"].plain_mult_adds == summarize("resnet50", residual=False).totals.mult_adds
    assert rows["resnet110"].plain_parameters == rows["resnet110"].parameters == 1_727_962
    assert rows["resnet18"].plain_parameters < rows["resnet18"].parameters
    # The file the Architecture page reads instead of measuring (regenerate: summary.write_comparison).
    shipped = json.loads(COMPARISON_FILE.read_text())
    assert shipped == [dataclasses.asdict(row) for row in rows.values()], "run summary.write_comparison()"


def test_shipped_comparison_measures_what_its_file_lacks(tmp_path) -> None:
    rows = json.loads(COMPARISON_FILE.read_text())
    partial = tmp_path / "comparison.json"
    partial.write_text(json.dumps([r for r in rows if r["name"] != "resnet20"]))
    got = shipped_comparison(partial)
    assert [r.name for r in got] == list_models()
    assert next(r for r in got if r.name == "resnet20") == compare_models(["resnet20"])[0]


def test_comparison_of_chosen_names_keeps_their_order() -> None:
    assert [r.name for r in compare_models(["resnet9", "resnet18"])] == ["resnet9", "resnet18"]


def test_records_flatten_tuples_for_tables() -> None:
    rows = records(summarize("resnet18").stages)
    assert rows[1]["output_size"] == "56 x 56"
    assert rows[1]["modules"] == "maxpool, layer1"
    assert rows[1]["repeats"] == 2
    assert records(summarize("resnet9").layers)[0]["output_shape"] == "1 x 64 x 32 x 32"


def test_format_count() -> None:
    assert format_count(1_814_083_944) == "1.81 G"
    assert format_count(11_689_512) == "11.69 M"
    assert format_count(269_722) == "269.72 k"
    assert format_count(650) == "650"


def test_layer_rows_leave_out_the_identity_stand_in_for_the_pool() -> None:
    layers = summarize("resnet56").layers
    assert "maxpool" not in [r.name for r in layers] and "Identity" not in {r.type for r in layers}
    assert "maxpool" in [r.name for r in summarize("resnet18").layers]  # a real max pool stays


def test_layout_source_names_what_describes_each_layout() -> None:
    assert layout_source("resnet50") == "as in Table 1 of the paper"
    assert "section 4.2" in layout_source("resnet110") and "Table 1" not in layout_source("resnet110")
    assert "Page" in layout_source("resnet9_w24")
    assert "no max pool" in layout_source("resnet18_cifar")
