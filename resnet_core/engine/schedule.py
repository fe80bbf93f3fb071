"""Learning-rate schedules: by fraction of the run (the trainer) or by step (the race)."""

from __future__ import annotations

import math
from typing import Literal

__all__ = ["Schedule", "lr_at_progress", "step_decay"]

Schedule = Literal["onecycle", "cosine", "constant"]


def lr_at_progress(schedule: Schedule, peak: float, warmup: float, progress: float) -> float:
    """Learning rate at ``progress`` (0 at the start, 1 at the end of the run).

    ``warmup`` is the fraction of the run spent ramping linearly up from 0 to ``peak``
    ("onecycle" and "cosine"; "constant" has none).
    """
    p = min(max(progress, 0.0), 1.0)
    if schedule == "constant":
        return peak
    if p < warmup:
        return peak * p / warmup
    q = (p - warmup) / (1 - warmup)  # 0..1 over the decay phase
    if schedule == "onecycle":
        # Linear warmup then linear decay to zero: the triangular one-cycle of Smith (2018)
        # that Page's ResNet-9 and airbench use; it beats step schedules on short runs.
        return peak * (1 - q)
    return peak * 0.5 * (1 + math.cos(math.pi * q))


def step_decay(lr: float, step: int, length: int, milestones: tuple[float, ...]) -> float:
    """Learning rate of step ``step`` (0-based): ``lr`` divided by 10 at each milestone.

    ``milestones`` are fractions of a schedule ``length`` steps long: the paper's CIFAR schedule
    divides at 32k and 48k of 64k iterations (section 4.2), i.e. (0.5, 0.75).
    """
    passed = sum(step >= m * length for m in milestones)
    return lr * 0.1**passed
