"""Experiments as objects: their races, and the verdict that turns measured numbers into words."""

from __future__ import annotations

import re

import pytest

from resnet_core.lessons import DEGRADATION, PAPER, QUICK, depth_experiment, twins_experiment
from resnet_core.reference_curves import reference_curves
from resnet_core.verdict import (
    REPLAY_ABOVE_S, Verdict, data_words, grad_flow_words, pace_note, race_time_words, single_run_note, verdict,
)
from resnet_core.models import get_spec
from resnet_core.race import Contender, ContenderResult


def results(errors: dict[str, float | None], steps: int = 500, status: str = "finished") -> list[ContenderResult]:
    """Crafted results: each contender of the degradation race with the given training error."""
    out = []
    for c in DEGRADATION.contenders:
        err = errors.get(c.label)
        st = "diverged" if err is None else status
        out.append(ContenderResult(c, st, steps if err is not None else 3, err, None, err, ""))  # type: ignore[arg-type]
    return out


def outcomes(v: Verdict) -> dict[str, str]:
    return {f.comparison.name: f.outcome for f in v.findings}


def test_a_clear_win_reproduces_the_paper() -> None:
    v = verdict(DEGRADATION, results({"plain-20": 0.60, "plain-56": 0.82, "ResNet-20": 0.55, "ResNet-56": 0.50}),
                   planned_steps=500)
    assert outcomes(v) == {"degradation": "as in the paper", "the fix": "as in the paper"}
    assert v.conclusive and v.headline.startswith("This run reproduced the paper on CIFAR-10")
    degradation = v.findings[0]
    assert degradation.gap == pytest.approx(0.22)
    assert "plain-56 82.0% against plain-20 60.0% training error after 500 steps" in degradation.text
    # A difference of two percentages is in points, never "better by 22.0%".
    assert "as in the paper, plain-56 ends 22.0 points above plain-20" in degradation.text
    assert "points above ResNet-56" in v.findings[1].text


def test_verdicts_never_give_a_difference_of_percentages_in_percent() -> None:
    cases = [{"plain-20": 0.60, "plain-56": 0.82, "ResNet-56": 0.50}, {"plain-20": 0.60, "plain-56": 0.61, "ResNet-56": 0.66}]
    for errors in cases:
        for finding in verdict(DEGRADATION, results(errors), planned_steps=500).findings:
            assert "better by" not in finding.text and "leads by" not in finding.text, finding.text
            assert not re.search(r"by \d+(\.\d+)?%", finding.text), finding.text
            assert " points" in finding.text, finding.text
    tie = verdict(DEGRADATION, results(cases[1]), planned_steps=500).findings[0]
    assert "within 3.0 points" in tie.text


def test_a_tie_and_a_contradiction_are_said_plainly() -> None:
    v = verdict(DEGRADATION, results({"plain-20": 0.60, "plain-56": 0.61, "ResNet-56": 0.66}), planned_steps=500)
    assert outcomes(v) == {"degradation": "tie", "the fix": "opposite of the paper"}
    assert v.conclusive  # every comparison was decided, one of them against the paper
    assert "reproduced" not in v.headline
    assert "unlike the paper, plain-56 ends 5.0 points below ResNet-56 in this run" in v.findings[1].text
    assert "The paper:" in v.findings[0].text and "a tie in this run" in v.findings[0].text
    residual = verdict(depth_experiment(20, 56, residual=True),
                          [ContenderResult(c, "finished", 500, e, None, e, "")
                           for c, e in zip(depth_experiment(20, 56, True).contenders, (0.52, 0.57))],
                          planned_steps=500)
    assert "unlike the paper, ResNet-20 ends 5.0 points below ResNet-56 in this run" in residual.findings[0].text


def test_a_run_too_short_to_say() -> None:
    short = verdict(DEGRADATION, results({"plain-20": 0.5, "plain-56": 0.9, "ResNet-20": 0.5, "ResNet-56": 0.4},
                                               steps=100), planned_steps=500)
    assert set(outcomes(short).values()) == {"too early"}
    assert not short.conclusive and short.headline.startswith("Too early to say")
    at_chance = verdict(DEGRADATION, results({"plain-20": 0.88, "plain-56": 0.90, "ResNet-20": 0.87,
                                                    "ResNet-56": 0.89}), planned_steps=500)
    assert set(outcomes(at_chance).values()) == {"too early"}
    assert "neither network has learned yet" in at_chance.findings[0].text


def test_a_diverged_network_gives_no_result_for_its_comparisons() -> None:
    v = verdict(DEGRADATION, results({"plain-20": 0.6, "plain-56": None, "ResNet-20": 0.5, "ResNet-56": 0.45}),
                   planned_steps=500)
    assert outcomes(v) == {"degradation": "no result", "the fix": "no result"}
    assert "plain-56 diverged" in v.findings[0].text and not v.conclusive


def test_synthetic_data_is_named_in_the_headline() -> None:
    v = verdict(DEGRADATION, results({"plain-20": 0.60, "plain-56": 0.82, "ResNet-20": 0.55, "ResNet-56": 0.50}),
                   planned_steps=500, data=data_words("Synthetic shapes (not CIFAR-10; 5,000 train images)"))
    assert "synthetic shapes (not CIFAR-10)" in v.headline


def test_degradation_race_is_the_papers_networks_at_the_quick_scale() -> None:
    cfg = DEGRADATION.config("quick", seed=3)
    assert [(c.label, c.model, c.residual) for c in cfg.contenders] == [
        ("plain-20", "resnet20", False), ("plain-56", "resnet56", False), ("ResNet-56", "resnet56", True)]
    assert all(get_spec(c.model).paper_family for c in cfg.contenders)
    assert (cfg.resolution, cfg.widths, cfg.steps, cfg.seed) == (16, (8, 16, 32), 300, 3)
    # The paper's optimiser, and the live race is the start of the schedule: lr 0.1 throughout.
    assert (cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (128, 0.1, 0.9, 1e-4)
    assert {cfg.lr_at(s) for s in range(cfg.steps)} == {0.1}
    full = DEGRADATION.config("quick", steps=2000)
    assert full.lr_at(999) == 0.1 and full.lr_at(1000) == pytest.approx(0.01) and full.lr_at(1500) == pytest.approx(0.001)
    paper = DEGRADATION.config("paper")
    assert (paper.resolution, paper.widths, paper.steps, paper.test_subset) == (32, None, 64_000, None)
    assert DEGRADATION.paper_error("ResNet-56") == 6.97 and DEGRADATION.paper_error("plain-56") is None


def test_twins_and_depth_experiments_claim_what_the_paper_says() -> None:
    twins = twins_experiment(110)
    assert [c.label for c in twins.contenders] == ["plain-110", "ResNet-110"]
    assert twins.comparisons[0].better == "ResNet-110"
    plain = depth_experiment(20, 56, residual=False)
    assert (plain.comparisons[0].better, plain.comparisons[0].worse) == ("plain-20", "plain-56")
    residual = depth_experiment(20, 56, residual=True)
    assert (residual.comparisons[0].better, residual.comparisons[0].worse) == ("ResNet-56", "ResNet-20")


def test_pace_note_only_when_far_slower_than_a_quiet_cpu() -> None:
    assert pace_note(QUICK, QUICK.cpu_step_s * 1.5, 400) is None
    note = pace_note(QUICK, QUICK.cpu_step_s * 4, 300)
    assert note is not None and "4.0x slower" in note
    assert f"about {QUICK.cpu_step_s * 4 * 300 / 60:.0f} more minutes" in note
    assert pace_note(PAPER, 100.0, 1000) is None  # no CPU expectation at the paper scale


def test_the_time_a_live_race_takes_is_said_and_past_3_minutes_points_to_the_replay() -> None:
    quick, recommend = race_time_words(0.41, 400, replay_s=24)
    assert quick.startswith("On this server a live race of 400 steps would take about 3 minutes (0.41 s per step")
    assert not recommend and "replay" not in quick  # 164 s: under REPLAY_ABOVE_S
    busy, recommend = race_time_words(1.75, 400, replay_s=24)
    assert recommend and "about 12 minutes" in busy and "Watch the replay instead" in busy and "in 24 seconds" in busy
    assert REPLAY_ABOVE_S == 180
    none, recommend = race_time_words(1.75, 400, replay_s=None)  # no recorded race to replay
    assert not recommend and "replay" not in none
    assert "about 40 seconds" in race_time_words(0.1, 400, replay_s=24)[0]


def test_shipped_reference_curves_say_how_they_were_made() -> None:
    ref = reference_curves(DEGRADATION, "quick")
    if ref is None:
        pytest.fail("resnet_core/reference/degradation_quick.json is missing: the Train page draws it")
    assert ref["command"].startswith("python -m resnet_core experiment degradation")
    assert {"date", "machine", "seed"} <= set(ref)
    runs = ref["curves"]["runs"]
    assert {c.label for c in DEGRADATION.contenders} <= set(runs)
    assert len(runs["plain-56"]["train_error"]) == len(ref["curves"]["train_step"])
    assert "/work/" not in str(ref) and "/home/" not in str(ref)  # no machine-specific paths shipped


def test_contender_depth_comes_from_the_registry() -> None:
    assert Contender("x", "resnet110", False).depth == 110


def test_a_single_run_at_chance_or_starved_says_its_numbers_mean_little() -> None:
    from torch import nn

    from resnet_core.train import TrainConfig, TrainResult

    def result(acc: float, epochs: int, budget: bool) -> TrainResult:
        cfg = TrainConfig(epochs=None, budget_s=120) if budget else TrainConfig()
        return TrainResult("finished", "", cfg, nn.Linear(1, 1), epochs, 120.0, 80.0, acc, 1.0)

    assert single_run_note(result(0.80, 3, budget=True)) is None
    assert "chance level" in single_run_note(result(0.12, 3, budget=True))
    starved = single_run_note(result(0.40, 0, budget=True))
    assert starved is not None and "80 training images per second" in starved and "did not finish one pass" in starved
    assert single_run_note(result(0.40, 0, budget=False)) is None  # an epochs run is never cut short


def test_grad_flow_words_describe_the_measured_profile() -> None:
    words = grad_flow_words({"plain-56": [0.001, 0.01, 0.1], "ResNet-56": [0.5, 0.4, 1.0], "empty": []})
    assert "plain-56: 100x larger at the output than at the input, layers spanning 2.0 orders" in words
    assert "ResNet-56: 2x larger at the output than at the input, layers spanning 0.4 orders" in words
    assert "empty" not in words
    assert "1e+03x larger at the input" in grad_flow_words({"x": [1000.0, 1.0]})
    assert grad_flow_words({}) == ""
