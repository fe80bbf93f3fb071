"""The race lessons: what to train, how, and what the paper found.

Each lesson the app teaches is one :class:`Experiment`: the networks it races, the recipe at each
scale, what He et al. (2015) reported, and the comparisons whose outcome a run decides. The Train
page, the CLI and the benchmark all build their races here; :mod:`resnet_core.verdict` turns a
race's numbers into words and :mod:`resnet_core.reference_curves` reads the shipped full runs.

The degradation race (the paper's Figures 1 and 6): plain-20, plain-56 and ResNet-56 with the
paper's recipe (SGD, lr 0.1 divided by 10 at 50% and 75% of the schedule, momentum 0.9,
weight decay 1e-4, batch 128, crop + flip). At the **quick** scale the networks keep their depth,
their option-A shortcuts and everything else, but have half the filters (8/16/32 instead of
16/32/64) and train on CIFAR-10 downsampled to 16x16: about 6x less time per step, and
degradation is a property of depth, which is untouched. A live quick race runs the first 300
steps of a 2,000-step schedule (all at lr 0.1, as the paper's first 32,000 are); the shipped
reference run is the whole schedule, with the same seed. The **paper** scale is the paper's
networks at 32x32 for its 64,000 steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from resnet_core.data import DataSource
from resnet_core.models import get_spec
from resnet_core.race import Contender, RaceConfig

__all__ = [
    "Comparison",
    "DEGRADATION",
    "EXPERIMENTS",
    "Experiment",
    "PAPER",
    "QUICK",
    "SCALES",
    "Scale",
    "ScaleName",
    "depth_experiment",
    "twins_experiment",
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
    steps=300,
    schedule_steps=2_000,
    eval_every=100,
    test_subset=1000,
    crop_padding=2,
    grad_norm_every=10,
    cpu_step_s=0.28,  # bench/degradation.py alone on the machine (bench/RESULTS.md, 2026-12-07: 0.276 s)
    description=(
        "quick scale: the paper's networks at half width (8/16/32 filters) on CIFAR-10 downsampled "
        "to 16x16, the first 300 steps (batch 128, lr 0.1) of a 2,000-step schedule"
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
        data: DataSource = "cifar10",
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
