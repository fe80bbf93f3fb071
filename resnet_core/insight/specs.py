"""The five experiments, described once: name, title, run function, result type and verdict.

The page offers them in this order and the CLI runs them by these names. Two kinds of run
function: on fresh nets (``on_trained=False``) ``run(depths, probe, *, scale, seed, kinds, progress)``
gives one result per net (:func:`~resnet_core.insight.runs.gradient_flow_runs`); on a trained net,
``run(ckpt, probe, *, seed, ...)`` gives one result (:func:`~resnet_core.insight.runs.lesion_run`).
Every verdict takes the results by the label of each net (:mod:`resnet_core.insight.verdicts`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from resnet_core.insight import runs, verdicts
from resnet_core.insight.results import (
    GradientFlowResult,
    LandscapeResult,
    LesionResult,
    ResponsesResult,
    ShatteredResult,
)


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment: what it is called, what it runs and returns, and who says what it showed."""

    name: str  # the CLI's and the page's key, e.g. "gradient-flow"
    title: str  # for people: "Gradient flow"
    on_trained: bool  # False: fresh nets at initialisation; True: a trained net
    run: Callable[..., Any]
    result_type: type
    verdict: Callable[[Mapping[str, Any]], list[str]]


EXPERIMENTS: dict[str, ExperimentSpec] = {spec.name: spec for spec in (
    ExperimentSpec("gradient-flow", "Gradient flow", False, runs.gradient_flow_runs, GradientFlowResult,
                   verdicts.gradient_flow),
    ExperimentSpec("shattered", "Shattered gradients", False, runs.shattered_runs, ShatteredResult, verdicts.shattered),
    ExperimentSpec("lesion", "Lesion study", True, runs.lesion_run, LesionResult, verdicts.lesion),
    ExperimentSpec("responses", "Layer responses", True, runs.responses_run, ResponsesResult, verdicts.responses),
    ExperimentSpec("landscape", "Loss landscape", True, runs.landscape_run, LandscapeResult, verdicts.landscape),
)}
