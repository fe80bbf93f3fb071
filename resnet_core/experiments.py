"""The old import path of the race lessons, the verdict and the reference curves.

They now live in modules named for their job: :mod:`resnet_core.lessons` (what to race and
what the paper found), :mod:`resnet_core.verdict` (numbers into words),
:mod:`resnet_core.reference_curves` (the shipped full runs) and, for a single network's default
run, :func:`resnet_core.train.single_run_recipe`. Import from those; this module only keeps
older code working.
"""

from __future__ import annotations

from resnet_core.lessons import (
    DEGRADATION,
    EXPERIMENTS,
    PAPER,
    QUICK,
    SCALES,
    Comparison,
    Experiment,
    Scale,
    ScaleName,
    depth_experiment,
    twins_experiment,
)
from resnet_core.reference_curves import REFERENCE_DIR, reference_curves
from resnet_core.train import single_run_recipe
from resnet_core.verdict import (
    LEARNED,
    MARGIN,
    MIN_FRACTION,
    Finding,
    Outcome,
    Verdict,
    data_words,
    grad_flow_words,
    pace_note,
    single_run_note,
    verdict,
)

__all__ = [
    "Comparison",
    "DEGRADATION",
    "EXPERIMENTS",
    "Experiment",
    "Finding",
    "LEARNED",
    "MARGIN",
    "MIN_FRACTION",
    "Outcome",
    "PAPER",
    "QUICK",
    "REFERENCE_DIR",
    "SCALES",
    "Scale",
    "ScaleName",
    "Verdict",
    "data_words",
    "depth_experiment",
    "grad_flow_words",
    "pace_note",
    "reference_curves",
    "single_run_note",
    "single_run_recipe",
    "twins_experiment",
    "verdict",
]
