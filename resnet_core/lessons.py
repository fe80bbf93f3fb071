"""Experiments as first-class objects: what to train, how, what the paper found, and the verdict.

Each lesson the app teaches is one :class:`Experiment`: the networks it races, the recipe at each
scale, what He et al. (2015) reported, and the comparisons whose outcome a run decides. The Train
page, the CLI and the benchmark all build their runs here, and :func:`verdict` is the one place
that turns measured numbers into words, so no page can claim more than the numbers support.

The degradation race (the paper's Figures 1 and 6): plain-20, plain-56 and ResNet-56 with the
paper's recipe (SGD, lr 0.1 divided by 10 at 50% and 75% of the schedule, momentum 0.9,
weight decay 1e-4, batch 128, crop + flip). At the **quick** scale the networks keep their depth,
their option-A shortcuts and everything else, but have half the filters (8/16/32 instead of
16/32/64) and train on CIFAR-10 downsampled to 16x16: about 6x less time per step, and
degradation is a property of depth, which is untouched. A live quick race runs the first 400
steps of a 2,000-step schedule (all at lr 0.1, as the paper's first 32,000 are); the shipped
reference run is the whole schedule, with the same seed. The **paper** scale is the paper's
networks at 32x32 for its 64,000 steps.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Sequence

from resnet_core.models import get_spec
from resnet_core.race import Contender, ContenderResult, RaceConfig
from resnet_core.train import TrainConfig, TrainResult

__all__ = [
    "Comparison",
    "DEGRADATION",
    "EXPERIMENTS",
    "Experiment",
    "Finding",
    "PAPER",
    "QUICK",
    "Scale",
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

ScaleName = Literal["quick", "paper"]


@dataclass(frozen=True)
class Scale:
    """How big a race is: image size, network width, length, and what that costs."""

    name: ScaleName
    resolution: int  # pixels of the (square) training images
    widths: tuple[int, ...] | None  # filters per stage; None: the paper's 16/32/64
    steps: int  # SGD steps per network in a live race
    schedule_steps: int  # length of the lr schedule (lr /10 at 50% and 75% of it); a live race runs its start
    eval_every: int  # steps between test evaluations
    test_subset: int | None  # test images per evaluation; None: all 10,000
    crop_padding: int  # random-crop padding at this resolution (the paper's 4 px at 32 x 32)
    grad_norm_every: int  # steps between gradient-flow records
    #: Seconds per race step (all three networks) on a 2-core AVX2 CPU running nothing else,
    #: measured by bench/degradation.py; the page compares the live pace against it.
    cpu_step_s: float | None
    description: str  # what was reduced, in words, for every place a result is shown


QUICK = Scale(
    name="quick",
    resolution=16,
    widths=(8, 16, 32),
    steps=400,
    schedule_steps=2_000,
    eval_every=100,
    test_subset=1000,
    crop_padding=2,
    grad_norm_every=10,
    cpu_step_s=0.41,  # bench/degradation.py alone on the machine, 2026-11-25: 0.407 s; whole race 168-174 s
    description=(
        "quick scale: the paper's networks at half width (8/16/32 filters) on CIFAR-10 downsampled "
        "to 16x16, the first 400 steps (batch 128, lr 0.1) of a 2,000-step schedule"
    ),
)
PAPER = Scale(
    name="paper",
    resolution=32,
    widths=None,
    steps=64_000,
    schedule_steps=64_000,
    eval_every=1_000,
    test_subset=None,
    crop_padding=4,
    grad_norm_every=200,
    cpu_step_s=None,
    description="paper scale: the paper's networks (16/32/64 filters) on 32x32 CIFAR-10, 64,000 steps of batch 128",
)
SCALES: dict[str, Scale] = {"quick": QUICK, "paper": PAPER}


@dataclass(frozen=True)
class Comparison:
    """A claim a race can confirm or contradict: ``better`` ends with lower training error than ``worse``."""

    name: str  # e.g. "degradation"
    better: str  # contender label
    worse: str
    paper: str  # what the paper found, one sentence


@dataclass(frozen=True)
class Experiment:
    """One lesson: the networks it races, what the paper found, and the claims it tests."""

    key: str
    title: str
    contenders: tuple[Contender, ...]
    comparisons: tuple[Comparison, ...]
    paper: str  # what the paper found, a few plain sentences
    explanation: str  # what the race shows and why the quick scale is faithful

    def config(
        self,
        scale: ScaleName = "quick",
        *,
        seed: int = 0,
        device: str = "auto",
        data: Literal["cifar10", "synthetic"] = "cifar10",
        data_dir: str | None = None,
        steps: int | None = None,
    ) -> RaceConfig:
        """The race for this experiment at ``scale``; ``steps`` overrides the scale's length."""
        s = SCALES[scale]
        n = steps or s.steps
        return RaceConfig(
            contenders=self.contenders,
            steps=n,
            schedule_steps=max(s.schedule_steps, n),
            resolution=s.resolution,
            widths=s.widths,
            crop_padding=s.crop_padding,
            seed=seed,
            device=device,
            data=data,
            data_dir=data_dir,
            test_subset=s.test_subset,
            eval_every=min(s.eval_every, n),
            grad_norm_every=s.grad_norm_every,
        )

    def paper_error(self, label: str) -> float | None:
        """The paper's CIFAR-10 test error (%) for a contender, where Table 6 gives one."""
        c = next(c for c in self.contenders if c.label == label)
        return get_spec(c.model).paper_error if c.residual else None


def _plain(depth: int) -> Contender:
    return Contender(f"plain-{depth}", f"resnet{depth}", residual=False)


def _res(depth: int) -> Contender:
    return Contender(f"ResNet-{depth}", f"resnet{depth}", residual=True)


DEGRADATION = Experiment(
    key="degradation",
    title="The degradation race: plain-20, plain-56, ResNet-56",
    # ResNet-20 ran too (bench/RESULTS.md) but a fourth network pushed the live race past 4 minutes
    # on a 2-core AVX2 CPU; the shipped reference run still has it.
    contenders=(_plain(20), _plain(56), _res(56)),
    comparisons=(
        Comparison(
            "degradation", better="plain-20", worse="plain-56",
            paper="The 56-layer plain net has higher training error than the 20-layer one throughout training "
            "(Figures 1 and 6, left): depth made the plain net worse, and not by overfitting.",
        ),
        Comparison(
            "the fix", better="ResNet-56", worse="plain-56",
            paper="With identity shortcuts the same 56 layers train far better than the plain net (Figure 6).",
        ),
    ),
    paper=(
        "He et al. trained plain and residual networks of 20 to 110 layers on CIFAR-10 with the same "
        "recipe. Without shortcuts, the deeper the network the *higher* its training error: plain-56 is "
        "worse than plain-20 from the first epochs to the end (Figure 1). That is not overfitting, since "
        "the training error is higher too; the deep plain net is harder to optimise. With identity "
        "shortcuts the problem disappears and depth pays: ResNet-56 reaches 6.97% test error, ResNet-20 "
        "8.75% (Table 6)."
    ),
    explanation=(
        "Three networks race in lockstep: at every step each one takes one SGD step on the same "
        "mini-batch, with the same learning rate, from the same seed. The curves therefore share one "
        "x-axis, iterations, as in the paper's figure, and nobody wins by getting more steps. The quick "
        "scale keeps what matters for the lesson (the depth, the 6n+2 layout, option-A shortcuts, the "
        "paper's optimiser) and makes each step about 6x cheaper (measured by bench/degradation.py): half the filters, 16x16 images."
    ),
)


def twins_experiment(depth: int) -> Experiment:
    """Plain-N against ResNet-N: the same layers with and without shortcuts."""
    return Experiment(
        key=f"twins-{depth}",
        title=f"Plain-{depth} against ResNet-{depth}",
        contenders=(_plain(depth), _res(depth)),
        comparisons=(
            Comparison("the fix", better=f"ResNet-{depth}", worse=f"plain-{depth}",
                       paper="Identity shortcuts make the same layers train better (Figure 6)."),
        ),
        paper=DEGRADATION.paper,
        explanation=DEGRADATION.explanation,
    )


def depth_experiment(shallow: int, deep: int, residual: bool) -> Experiment:
    """A shallow and a deep network, both plain (the paper's Figure 1) or both residual (the fix)."""
    make = _res if residual else _plain
    better, worse = (make(deep), make(shallow)) if residual else (make(shallow), make(deep))
    claim = (
        "With shortcuts, the deeper network trains better (Figure 6, middle)."
        if residual else "Without shortcuts, the deeper network trains worse (Figure 1)."
    )
    return Experiment(
        key=f"depth-{shallow}-{deep}-{'residual' if residual else 'plain'}",
        title=f"{make(shallow).label} against {make(deep).label}",
        contenders=(make(shallow), make(deep)),
        comparisons=(Comparison("depth", better=better.label, worse=worse.label, paper=claim),),
        paper=DEGRADATION.paper,
        explanation=DEGRADATION.explanation,
    )


EXPERIMENTS: dict[str, Experiment] = {DEGRADATION.key: DEGRADATION}


# --------------------------------------------------------------------------------------------
# The verdict: measured numbers in, honest words out
# --------------------------------------------------------------------------------------------

#: Two networks' training errors closer than this are a tie: the last-10% window of a quick race
#: averages ~6,000 images, but the curves still move, so 3 points is about the noise between seeds.
MARGIN = 0.03
#: A network whose training error is within this of chance has not learned yet.
LEARNED = 0.05
#: A race shorter than this fraction of its scale's steps is too short to judge.
MIN_FRACTION = 0.25

Outcome = Literal["as in the paper", "opposite of the paper", "tie", "too early", "no result"]


@dataclass(frozen=True)
class Finding:
    """The outcome of one comparison in one run."""

    comparison: Comparison
    outcome: Outcome
    gap: float | None  # worse's training error minus better's, in [−1, 1]; > 0 agrees with the paper
    text: str  # one sentence for people


@dataclass(frozen=True)
class Verdict:
    """Everything a run showed, in words, with nothing the numbers do not support."""

    findings: tuple[Finding, ...]
    headline: str
    conclusive: bool  # every comparison was decided (agreeing or not with the paper)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def verdict(
    experiment: Experiment,
    results: Sequence[ContenderResult],
    *,
    planned_steps: int,
    num_classes: int = 10,
    data: str = "CIFAR-10",
) -> Verdict:
    """Judge each of ``experiment``'s comparisons from the runs' final training errors.

    Conservative by design: a comparison is decided only when both networks trained for at least
    :data:`MIN_FRACTION` of ``planned_steps``, at least one of them learned (beyond chance by
    :data:`LEARNED`), and their errors differ by :data:`MARGIN` or more.
    """
    by_label = {r.contender.label: r for r in results}
    chance = 1 - 1 / num_classes
    findings = []
    for comp in experiment.comparisons:
        better, worse = by_label.get(comp.better), by_label.get(comp.worse)
        if better is None or worse is None or better.train_error is None or worse.train_error is None:
            missing = [r.contender.label for r in (better, worse) if r is not None and r.status == "diverged"]
            why = f"{' and '.join(missing)} diverged" if missing else "a network has no result"
            findings.append(Finding(comp, "no result", None, f"{comp.name.capitalize()}: no verdict, {why}."))
            continue
        gap = worse.train_error - better.train_error
        steps = min(better.steps, worse.steps)
        both = (f"{comp.worse} {_pct(worse.train_error)} against {comp.better} {_pct(better.train_error)} "
                f"training error after {steps:,} steps")
        if steps < MIN_FRACTION * planned_steps:
            outcome: Outcome = "too early"
            text = f"{comp.name.capitalize()}: too early to say ({both}; the race was planned for {planned_steps:,})."
        elif min(better.train_error, worse.train_error) > chance - LEARNED:
            outcome = "too early"
            text = f"{comp.name.capitalize()}: neither network has learned yet ({both}, chance is {_pct(chance)})."
        elif abs(gap) < MARGIN:
            outcome = "tie"
            text = (f"{comp.name.capitalize()}: a tie in this run ({both}, within {_pct(MARGIN)}). "
                    f"The paper: {comp.paper}")
        elif gap > 0:
            outcome = "as in the paper"
            text = (f"{comp.name.capitalize()}: as in the paper, {comp.better} trains better by {_pct(gap)} "
                    f"({both}).")
        else:
            outcome = "opposite of the paper"
            text = (f"{comp.name.capitalize()}: unlike the paper, {comp.worse} leads by {_pct(-gap)} in this run "
                    f"({both}). The paper: {comp.paper}")
        findings.append(Finding(comp, outcome, gap, text))

    decided = [f for f in findings if f.outcome in ("as in the paper", "opposite of the paper", "tie")]
    agree = [f for f in findings if f.outcome == "as in the paper"]
    if not decided:
        headline = "Too early to say: the networks need more steps before the curves separate."
    elif len(agree) == len(findings):
        headline = f"This run reproduced the paper on {data}: " + "; ".join(f.comparison.name for f in agree) + "."
    else:
        parts = [f"{f.comparison.name}: {f.outcome}" for f in findings]
        headline = f"This run on {data}: " + "; ".join(parts) + "."
    return Verdict(tuple(findings), headline, conclusive=len(decided) == len(findings))


def data_words(source: str) -> str:
    """"CIFAR-10" or "synthetic shapes (not CIFAR-10)" for a dataset's ``source``, for headlines."""
    return "synthetic shapes (not CIFAR-10)" if source.lower().startswith("synthetic") else "CIFAR-10"


def pace_note(scale: Scale, seconds_per_step: float | None, steps_left: int) -> str | None:
    """A warning when a CPU race runs far slower than a quiet 2-core CPU does, else None.

    Equal steps keep the comparison fair however slow the machine is, so a slow race is not a wrong
    one; it only ends later. Say so, and how much later, instead of leaving a visitor staring.
    """
    if scale.cpu_step_s is None or seconds_per_step is None or not math.isfinite(seconds_per_step):
        return None
    slowdown = seconds_per_step / scale.cpu_step_s
    if slowdown < 2.0:
        return None
    minutes = seconds_per_step * steps_left / 60
    return (
        f"This server is busy: the race runs {slowdown:.1f}x slower than on a quiet 2-core CPU, so it needs "
        f"about {minutes:.0f} more minutes. The comparison stays fair (every network gets the same steps); "
        f"stopping early leaves it undecided."
    )


def single_run_note(result: "TrainResult", num_classes: int = 10) -> str | None:
    """Why a finished single run's numbers mean little, if they do; else None.

    A busy server gives a time-budgeted run too few steps, and a run can end at chance accuracy;
    either way "Training finished." alone would mislead.
    """
    if result.status != "finished":
        return None
    chance = 1 / num_classes
    if result.test_acc is not None and result.test_acc < chance + LEARNED:
        return (f"The network ended at {result.test_acc:.1%} test accuracy, chance level for {num_classes} classes: it "
                "has not learned anything measurable yet. Train longer, or lower the learning rate if the loss rose.")
    if result.config.budget_s is not None and result.epochs_completed < 1:
        return (f"Only {result.images_per_second:,.0f} training images per second: the run did not finish one pass "
                "over its training set in its budget (a busy server, or a slow CPU), so its accuracy means little. "
                "Try again when the server is quieter, or give it more time.")
    return None


def grad_flow_words(flows: dict[str, Sequence[float]]) -> str:
    """What the gradient-flow chart shows right now, in words: measured, never assumed.

    ``flows`` maps a network's label to its gradient norm per weighted layer, input to output.
    For each network: how many times larger the gradient is at the output layer than at the input
    layer, and how many orders of magnitude its layers span.
    """
    parts = []
    for label, norms in flows.items():
        values = [v for v in norms if v > 0 and math.isfinite(v)]
        if len(values) < 2:
            continue
        ratio = values[-1] / values[0]
        spread = math.log10(max(values) / min(values))
        direction = (f"{ratio:.3g}x larger at the output than at the input" if ratio >= 1
                     else f"{1 / ratio:.3g}x larger at the input than at the output")
        parts.append(f"{label}: {direction}, layers spanning {spread:.1f} orders of magnitude")
    if not parts:
        return ""
    return "Measured now (mean of the latest records): " + "; ".join(parts) + "."


# --------------------------------------------------------------------------------------------
# Single-network training: the one place its defaults come from
# --------------------------------------------------------------------------------------------


def single_run_recipe(device: str = "auto") -> TrainConfig:
    """The default single-network run for ``device``: the tuned recipe of TrainConfig.for_device.

    The Train page and ``python -m resnet_core train`` both start from this; on a CPU it also logs
    every step (a CPU step is long, so a metric costs nothing next to it and the charts stay live).
    """
    recipe = TrainConfig.for_device(device)
    if recipe.device == "cpu" or (recipe.device == "auto" and not _has_cuda()):
        recipe = replace(recipe, log_every=1, grad_norm_every=1)
    return recipe


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


# --------------------------------------------------------------------------------------------
# Reference curves: a full quick-scale race, run once with the CLI and shipped with the package
# --------------------------------------------------------------------------------------------

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def reference_curves(experiment: Experiment, scale: ScaleName = "quick") -> dict[str, Any] | None:
    """The shipped curves of ``experiment`` at ``scale`` (with command, date, machine), or None.

    Written by ``python -m resnet_core experiment degradation --save-curves`` (see the file's
    ``command``); plain JSON, so reading it can run no code.
    """
    path = REFERENCE_DIR / f"{experiment.key}_{scale}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "curves" in data else None
