"""The experiments over several networks, as the CLI and the page run them: depths x plain/residual.

Each function returns the typed results of :mod:`resnet_core.insight.results` (whose ``to_json()``
is the CLI's JSON line, issue 8), so the page, the CLI and the benchmark read the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

from resnet_core.checkpoint import Checkpoint
from resnet_core.insight.gradflow import gradient_flow
from resnet_core.insight.landscape import loss_slice
from resnet_core.insight.lesion import deletable_blocks, lesion_study, multi_lesion
from resnet_core.insight.nets import Scale, net_label
from resnet_core.insight.probe import Probe
from resnet_core.insight.responses import layer_responses
from resnet_core.insight.results import (
    GradientFlowResult,
    LandscapeResult,
    LesionResult,
    ResponsesResult,
    ShatteredResult,
)
from resnet_core.insight.shattered import shattered
from resnet_core.models import get_spec

Progress = Callable[[str], None]
KINDS = (False, True)  # plain first, then residual: the order of every chart and JSON list
R = TypeVar("R")
F = TypeVar("F", GradientFlowResult, ShatteredResult)


def _quiet(_: str) -> None:
    pass


def _each_fresh_net(what: str, depths: Sequence[int], kinds: Sequence[bool], progress: Progress,
                    measure: Callable[[int, bool], R]) -> list[R]:
    """``measure(depth, residual)`` for every depth, plain then residual, saying which net is next."""
    results = []
    for depth in depths:
        for residual in kinds:
            progress(f"{what}: {net_label(depth, residual)}")
            results.append(measure(depth, residual))
    return results


def by_label(runs: Sequence[F]) -> dict[str, F]:
    """Results on fresh nets by the label the page and the verdicts give each net ("plain-56"), in order."""
    return {net_label(r.depth, r.residual): r for r in runs}


def gradient_flow_runs(depths: Sequence[int], probe: Probe, *, scale: Scale, seed: int = 0,
                       kinds: Sequence[bool] = KINDS, progress: Progress = _quiet) -> list[GradientFlowResult]:
    """Relative gradient norm per conv layer for plain and/or residual nets (``kinds``) of each depth."""
    def measure(depth: int, residual: bool) -> GradientFlowResult:
        run = gradient_flow(depth, residual, probe, scale=scale, seed=seed)
        return GradientFlowResult(model=run.model, depth=depth, residual=residual, layers=run.flow.layers,
                                  relative_grad_norms=run.flow.relative_grad_norms, log10_spread=run.flow.spread)

    return _each_fresh_net("gradient flow", depths, kinds, progress, measure)


def shattered_runs(depths: Sequence[int], probe: Probe, *, scale: Scale, seed: int = 0,
                   kinds: Sequence[bool] = KINDS, progress: Progress = _quiet) -> list[ShatteredResult]:
    """The gradient along one line of inputs, and its neighbour correlation, per net."""
    def measure(depth: int, residual: bool) -> ShatteredResult:
        run = shattered(depth, residual, probe, scale=scale, seed=seed)
        return ShatteredResult(model=run.model, depth=depth, residual=residual,
                               autocorrelation=run.line.autocorrelation, t=run.line.t, gradient=run.line.gradient)

    return _each_fresh_net("shattered gradients", depths, kinds, progress, measure)


def lesion_counts(deletable: int, steps: int = 8) -> list[int]:
    """How many blocks to delete at once: 0, 1, 2, then about every ``steps``-th of the way to all."""
    step = max(1, math.ceil(deletable / steps))
    return sorted({0, *range(1, min(3, deletable + 1)), *range(step, deletable + 1, step), deletable})


def lesion_run(ckpt: Checkpoint, probe: Probe, *, seed: int = 0, trials: int = 3, steps: int = 8,
               progress: Progress = _quiet) -> LesionResult:
    """Single-block lesions, then ``trials`` random draws of k blocks deleted at once for about
    ``steps`` values of k (see :func:`lesion_counts`)."""
    study = lesion_study(ckpt.model, probe.images, probe.labels, progress=progress)
    candidates = deletable_blocks(study)
    multi = multi_lesion(ckpt.model, probe.images, probe.labels, candidates, lesion_counts(len(candidates), steps),
                         trials=trials, seed=seed)
    return LesionResult(model=ckpt.model_name, depth=get_spec(ckpt.model_name).depth, residual=ckpt.residual,
                        baseline_acc=study.baseline_acc, blocks=study.blocks, multi=tuple(multi), images=study.images)


def responses_run(ckpt: Checkpoint, probe: Probe) -> ResponsesResult:
    """Std of every 3x3 layer's response of a trained net (Figure 7)."""
    result = layer_responses(ckpt.model, probe.images)
    return ResponsesResult(model=ckpt.model_name, residual=ckpt.residual, layers=result.layers, stds=result.stds,
                           images=result.images)


def landscape_run(ckpt: Checkpoint, probe: Probe, *, seed: int = 0, points: int = 21) -> LandscapeResult:
    """Loss and accuracy along a filter-normalised direction through a trained net's weights."""
    result = loss_slice(ckpt.model, probe.images, probe.labels, points=points, seed=seed)
    return LandscapeResult(model=ckpt.model_name, residual=ckpt.residual, alphas=result.alphas, losses=result.losses,
                           accs=result.accs, images=result.images)
