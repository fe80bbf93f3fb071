"""The verdict: a run's measured numbers in, honest words out.

:func:`verdict` is the one place that turns a race's numbers into sentences, so no page can claim
more than the numbers support; the other functions here word a single run, a race's pace and the
gradient flow the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

from resnet_core.lessons import Comparison, Experiment, Scale
from resnet_core.race import ContenderResult
from resnet_core.train import TrainResult

__all__ = [
    "LEARNED",
    "MARGIN",
    "MIN_FRACTION",
    "Finding",
    "Outcome",
    "Verdict",
    "data_words",
    "grad_flow_words",
    "REPLAY_ABOVE_S",
    "pace_note",
    "race_time_words",
    "single_run_note",
    "verdict",
]


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


def _points(x: float) -> str:
    """A difference of two percentages: percentage points, never "%" (18.1 points, not 18.1%)."""
    return f"{100 * x:.1f} points"


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
            text = (f"{comp.name.capitalize()}: a tie in this run ({both}, within {_points(MARGIN)}). "
                    f"The paper: {comp.paper}")
        elif gap > 0:
            outcome = "as in the paper"
            text = (f"{comp.name.capitalize()}: as in the paper, {comp.worse} ends {_points(gap)} above "
                    f"{comp.better} ({both}).")
        else:
            outcome = "opposite of the paper"
            text = (f"{comp.name.capitalize()}: unlike the paper, {comp.worse} ends {_points(-gap)} below "
                    f"{comp.better} in this run ({both}). The paper: {comp.paper}")
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


#: A live race expected to take longer than this (seconds) recommends the replay instead.
REPLAY_ABOVE_S = 180.0


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    return f"{seconds / 60:.0f} minutes"


def race_time_words(seconds_per_step: float, steps: int, *, replay_s: float | None) -> tuple[str, bool]:
    """How long a live race of ``steps`` will take at a measured pace, and whether to recommend the replay.

    Returns ``(sentence, recommend)``; ``recommend`` is True past :data:`REPLAY_ABOVE_S` where a replay
    exists (``replay_s``: how long it takes; None: there is none), and the sentence then points to it.
    """
    total = seconds_per_step * steps
    text = (f"On this server a live race of {steps:,} steps would take about {_minutes(total)} "
            f"({seconds_per_step:.2f} s per step, measured just now).")
    recommend = total > REPLAY_ABOVE_S and replay_s is not None
    if recommend:
        text += f" Watch the replay instead: the recorded race, start to verdict, in {replay_s:.0f} seconds."
    return text, recommend


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
