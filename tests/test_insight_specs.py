"""The table of experiments: every registered experiment runs, returns its declared type, turns into
the CLI's JSON and gets a verdict, so a new experiment is tested the day it joins the table."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from resnet_core.insight.nets import QUICK, net_label
from resnet_core.insight.probe import eval_split, make_probe
from resnet_core.insight.runs import by_label
from resnet_core.insight.specs import EXPERIMENTS, ExperimentSpec
from resnet_core.insight.trained import load_race_net

#: What the CLI's JSON line holds per net (issue 8): no more, no less, in this order.
JSON_KEYS = {
    "gradient-flow": ["model", "depth", "residual", "layers", "relative_grad_norms", "log10_spread"],
    "shattered": ["model", "depth", "residual", "autocorrelation"],
    "lesion": ["depth", "model", "residual", "baseline_acc", "blocks", "multi", "images"],
    "responses": ["model", "residual", "layers", "stds", "images"],
    "landscape": ["model", "residual", "alphas", "losses", "accs", "images"],
}


def test_the_page_order_and_names() -> None:
    assert list(EXPERIMENTS) == list(JSON_KEYS)
    assert [s.title for s in EXPERIMENTS.values()] == [
        "Gradient flow", "Shattered gradients", "Lesion study", "Layer responses", "Loss landscape"]
    assert [s.on_trained for s in EXPERIMENTS.values()] == [False, False, True, True, True]


def results_of(spec: ExperimentSpec, race_nets: Path) -> dict:
    """``spec`` on plain and residual depth-20 nets, by label, as small as it runs."""
    if not spec.on_trained:
        probe = make_probe(eval_split(synthetic=True, size=50), 8, input_size=QUICK.resolution, seed=0)
        return by_label(spec.run((20,), probe, scale=QUICK, seed=0))
    results = {}
    for label in ("plain20", "resnet20"):
        ckpt = load_race_net(label, race_nets)
        probe = make_probe(eval_split(synthetic=True, size=50), 40, input_size=ckpt.input_size, seed=0)
        results[net_label(20, ckpt.residual)] = spec.run(ckpt, probe)
    return results


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_each_experiment_returns_its_type_its_json_and_a_verdict(name: str, race_nets: Path) -> None:
    spec = EXPERIMENTS[name]
    results = results_of(spec, race_nets)
    assert list(results) == ["plain-20", "ResNet-20"]
    assert [r.residual for r in results.values()] == [False, True]
    for result in results.values():
        assert type(result) is spec.result_type
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.residual = not result.residual
        row = result.to_json()
        assert list(row) == JSON_KEYS[name]
        assert json.loads(json.dumps(row)) == row  # plain JSON types only: lists, not tuples
        assert row["model"] == "resnet20" and row["residual"] == result.residual
    lines = spec.verdict(results)
    assert lines and all(isinstance(line, str) and line for line in lines)
    assert any("20" in line for line in lines)


def test_lesion_json_keeps_each_block_and_each_draw(race_nets: Path) -> None:
    results = results_of(EXPERIMENTS["lesion"], race_nets)
    plain = results["plain-20"].to_json()
    assert plain["depth"] == 20 and plain["images"] == 40
    assert [b["name"] for b in plain["blocks"] if b["acc"] is None] == ["layer2.0", "layer3.0"]
    assert plain["multi"][0] == {"deleted": 0, "acc": plain["baseline_acc"], "accs": [plain["baseline_acc"]]}


def test_a_lesion_verdict_needs_a_plain_and_a_residual_net(race_nets: Path) -> None:
    results = results_of(EXPERIMENTS["lesion"], race_nets)
    assert EXPERIMENTS["lesion"].verdict({"ResNet-20": results["ResNet-20"]}) == []
