"""The experiments over several networks, as the CLI and the page run them: depths x plain/residual.

Each function returns plain dicts in the format of the CLI's JSON line (issue 8), so the page,
the CLI and the benchmark read the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from resnet_core.checkpoint import Checkpoint
from resnet_core.insight.gradflow import gradient_flow
from resnet_core.insight.landscape import loss_slice
from resnet_core.insight.lesion import deletable_blocks, lesion_study, multi_lesion
from resnet_core.insight.nets import Scale, net_label
from resnet_core.insight.probe import Probe
from resnet_core.insight.responses import layer_responses
from resnet_core.insight.shattered import shattered

Progress = Callable[[str], None]
KINDS = (False, True)  # plain first, then residual: the order of every chart and JSON list


def _quiet(_: str) -> None:
    pass


def gradient_flow_runs(depths: Sequence[int], probe: Probe, *, scale: Scale, seed: int = 0,
                       kinds: Sequence[bool] = KINDS, progress: Progress = _quiet) -> list[dict[str, Any]]:
    """Relative gradient norm per conv layer for plain and/or residual nets (``kinds``) of each depth."""
    runs = []
    for depth in depths:
        for residual in kinds:
            progress(f"gradient flow: {net_label(depth, residual)}")
            run = gradient_flow(depth, residual, probe, scale=scale, seed=seed)
            runs.append({
                "model": run.model, "depth": depth, "residual": residual,
                "layers": list(run.flow.layers),
                "relative_grad_norms": list(run.flow.relative_grad_norms),
                "log10_spread": run.flow.spread,
            })
    return runs


def shattered_runs(depths: Sequence[int], probe: Probe, *, scale: Scale, seed: int = 0,
                   kinds: Sequence[bool] = KINDS, progress: Progress = _quiet) -> list[dict[str, Any]]:
    """The gradient along one line of inputs, and its neighbour correlation, per net."""
    runs = []
    for depth in depths:
        for residual in kinds:
            progress(f"shattered gradients: {net_label(depth, residual)}")
            run = shattered(depth, residual, probe, scale=scale, seed=seed)
            runs.append({
                "model": run.model, "depth": depth, "residual": residual,
                "autocorrelation": run.line.autocorrelation,
                "t": list(run.line.t), "gradient": list(run.line.gradient),
            })
    return runs


def lesion_counts(deletable: int, steps: int = 8) -> list[int]:
    """How many blocks to delete at once: 0, 1, 2, then about every ``steps``-th of the way to all."""
    step = max(1, math.ceil(deletable / steps))
    return sorted({0, *range(1, min(3, deletable + 1)), *range(step, deletable + 1, step), deletable})


def lesion_run(ckpt: Checkpoint, probe: Probe, *, seed: int = 0, trials: int = 3, steps: int = 8,
               progress: Progress = _quiet) -> dict[str, Any]:
    """Single-block lesions, then ``trials`` random draws of k blocks deleted at once for about
    ``steps`` values of k (see :func:`lesion_counts`)."""
    study = lesion_study(ckpt.model, probe.images, probe.labels, progress=progress)
    candidates = deletable_blocks(study)
    multi = multi_lesion(ckpt.model, probe.images, probe.labels, candidates, lesion_counts(len(candidates), steps),
                         trials=trials, seed=seed)
    return {
        "model": ckpt.model_name,
        "residual": ckpt.residual,
        "baseline_acc": study.baseline_acc,
        "blocks": [{"name": b.name, "acc": b.acc} for b in study.blocks],
        "multi": [{"deleted": m.count, "acc": m.mean, "accs": list(m.accs)} for m in multi],
        "images": study.images,
    }


def responses_run(ckpt: Checkpoint, probe: Probe) -> dict[str, Any]:
    """Std of every 3x3 layer's response of a trained net (Figure 7)."""
    result = layer_responses(ckpt.model, probe.images)
    return {"model": ckpt.model_name, "residual": ckpt.residual, "layers": list(result.layers),
            "stds": list(result.stds), "images": result.images}


def landscape_run(ckpt: Checkpoint, probe: Probe, *, seed: int = 0, points: int = 21) -> dict[str, Any]:
    """Loss and accuracy along a filter-normalised direction through a trained net's weights."""
    result = loss_slice(ckpt.model, probe.images, probe.labels, points=points, seed=seed)
    return {"model": ckpt.model_name, "residual": ckpt.residual, "alphas": list(result.alphas),
            "losses": list(result.losses), "accs": list(result.accs), "images": result.images}
