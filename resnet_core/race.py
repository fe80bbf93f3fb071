"""Several networks trained side by side, step by step, on the same mini-batches: a race.

The paper's Figures 1 and 6 plot plain and residual networks against *iterations*, all trained
with the same recipe. A race does exactly that: at every step one augmented mini-batch is drawn
and each network takes one SGD step on it, so at any moment every curve has the same number of
steps, the same learning rate and has seen the same images. Nobody is compared at equal wall
time (a deeper net would simply get fewer steps).

On a CPU the networks of one step train at the same time, one per core, each on one thread:
these small convolutions gain little from a second intra-op thread, while two networks on two
cores finish a step in about the time of the slowest pair (bench/RESULTS.md, "the race with one worker per core").
Every network still takes exactly one step per mini-batch before the next is drawn.

The loop follows airbench's shape (data on the device as uint8, batched augmentation, one block
of hyperparameters) and reads top to bottom: :meth:`Race.setup`, :meth:`Race.step`,
:meth:`Race.evaluate`, :meth:`Race.finish`. What it measures goes to one place, the callback; a
network whose loss explodes is retired as "diverged" while the others race on.
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Literal, NamedTuple, TypeVar, Union

import torch
from torch import nn

from resnet_core.data import DataSource, ImageDataset, load_splits
from resnet_core.device import pick_device, usable_cpus
from resnet_core.engine.batches import Batches
from resnet_core.engine.divergence import EXPLODE_FACTOR, EXPLODE_PATIENCE, DivergenceWatch
from resnet_core.engine.evaluate import eval_totals
from resnet_core.engine.outcome import judge_end
from resnet_core.engine.layers import weighted_layers
from resnet_core.engine.runner import Runner
from resnet_core.engine.schedule import step_decay
from resnet_core.engine.step import apply_update, backward, grad_norms
from resnet_core.models import create_model, get_spec
from resnet_core.optim import SGD

__all__ = [
    "Contender",
    "ContenderResult",
    "Race",
    "RaceConfig",
    "RaceEval",
    "RaceGrads",
    "RaceMetrics",
    "RaceResult",
    "RaceStep",
    "load_race_data",
]


@dataclass(frozen=True)
class Contender:
    """One network in a race: a registered model, with or without its shortcuts."""

    label: str  # e.g. "plain-56"
    model: str  # a registered name, e.g. "resnet56"
    residual: bool

    @property
    def depth(self) -> int:
        return get_spec(self.model).depth


@dataclass(frozen=True)
class RaceConfig:
    """Everything that defines a race. Build it with :meth:`resnet_core.lessons.Experiment.config`."""

    contenders: tuple[Contender, ...]
    steps: int  # SGD steps per network: the paper's x-axis is iterations
    batch_size: int = 128  # images per step, the same batch for every network (paper: 128)
    lr: float = 0.1  # the paper's CIFAR learning rate
    momentum: float = 0.9
    weight_decay: float = 1e-4  # L2 on every weight, as in the paper
    milestones: tuple[float, ...] = (0.5, 0.75)  # fractions of the schedule where lr /= 10 (paper: 32k, 48k of 64k)
    #: Length of the learning-rate schedule, in steps; None: ``steps``. A quick race runs the first
    #: ``steps`` of a longer schedule, so it shows the start of the paper's training exactly as the
    #: reference run (which runs all of it) does.
    schedule_steps: int | None = None
    resolution: int = 32  # pixels; the quick scale trains on 16x16 images
    widths: tuple[int, ...] | None = None  # filters per stage; None: the registered model's (16, 32, 64)
    crop_padding: int = 4  # random-crop padding in pixels at `resolution` (paper: 4 at 32x32)
    seed: int = 0  # weights, data order and augmentation
    device: str = "auto"
    data: DataSource = "cifar10"
    data_dir: str | None = None
    train_subset: int | None = None  # None: the whole training split
    test_subset: int | None = 1000  # test images per evaluation (stratified)
    eval_every: int = 50  # steps between test evaluations; the end is always evaluated
    grad_norm_every: int = 10  # steps between per-layer gradient norms; 0: never
    explode_patience: int = EXPLODE_PATIENCE  # steps a loss may stay above EXPLODE_FACTOR x its first value

    def __post_init__(self) -> None:
        if not self.contenders:
            raise ValueError("a race needs at least one network")
        labels = [c.label for c in self.contenders]
        if len(set(labels)) != len(labels):
            raise ValueError(f"contender labels must differ, got {labels}")
        for c in self.contenders:
            get_spec(c.model)  # KeyError listing the names
        if self.schedule_steps is not None and self.schedule_steps < 1:
            raise ValueError(f"schedule_steps must be at least 1, got {self.schedule_steps}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be at least 1, got {self.steps} and {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if not all(0 < m < 1 for m in self.milestones):
            raise ValueError(f"milestones are fractions of the run in (0, 1), got {self.milestones}")
        if self.resolution not in (8, 16, 32):
            raise ValueError(f"resolution must be 32, 16 or 8 pixels, got {self.resolution}")
        if self.eval_every < 1 or self.grad_norm_every < 0:
            raise ValueError("eval_every must be >= 1 and grad_norm_every >= 0")

    def lr_at(self, step: int) -> float:
        """Learning rate of step ``step`` (0-based): divided by 10 at each milestone of the schedule."""
        return step_decay(self.lr, step, self.schedule_steps or self.steps, self.milestones)


# --------------------------------------------------------------------------------------------
# What a race reports: one stream of records, in order, to the callback.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaceStep:
    """One step of every network. Values are NaN for a network that has left the race."""

    step: int  # steps done (1-based)
    loss: tuple[float, ...]  # training loss on this mini-batch, per contender
    error: tuple[float, ...]  # training error (fraction wrong) on this mini-batch, per contender
    lr: float
    elapsed_s: float  # wall seconds since the race started, evaluation included
    fraction: float  # step / steps: the race's progress, 0..1


@dataclass(frozen=True)
class RaceEval:
    """Held-out loss and error of every network after ``step`` steps."""

    step: int
    loss: tuple[float, ...]
    error: tuple[float, ...]


@dataclass(frozen=True)
class RaceGrads:
    """Gradient norm of each weighted layer (input to output), per contender, at one step."""

    step: int
    names: tuple[tuple[str, ...], ...]
    norms: tuple[tuple[float, ...], ...]


RaceMetrics = Union[RaceStep, RaceEval, RaceGrads]


@dataclass(frozen=True)
class ContenderResult:
    """How one network finished."""

    contender: Contender
    status: Literal["finished", "stopped", "diverged"]
    steps: int  # steps it trained
    train_error: float | None  # mean mini-batch error over the last 10% of its steps
    train_loss: float | None  # the same window's mean loss
    test_error: float | None  # at the last evaluation
    message: str = ""


@dataclass
class RaceResult:
    """The outcome of a race: per-network results and the trained networks (eval mode, CPU)."""

    config: RaceConfig
    status: Literal["finished", "stopped"]
    results: tuple[ContenderResult, ...]
    models: tuple[nn.Module, ...]
    wall_s: float  # loading, training and evaluation
    data: str  # the training set, for people
    device: str = "cpu"


class _NetStep(NamedTuple):
    """What one network's step reports: NaNs for a network out of the race."""

    loss: float
    error: float
    names: tuple[str, ...]
    norms: tuple[float, ...]

    @classmethod
    def left(cls) -> _NetStep:
        return cls(math.nan, math.nan, (), ())


_T = TypeVar("_T")


def train_window(steps: int) -> int:
    """How many final steps "training error" averages over: the last 10% (at least one)."""
    return max(1, steps // 10)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def load_race_data(config: RaceConfig) -> tuple[ImageDataset, ImageDataset]:
    """``(train, test)`` at the race's resolution, cut to its subsets."""
    return load_splits(
        config.data, config.data_dir, train_subset=config.train_subset, test_subset=config.test_subset,
        seed=config.seed, size=config.resolution,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# The race
# --------------------------------------------------------------------------------------------


class Race(Runner[RaceConfig, RaceMetrics]):
    """Trains ``config.contenders`` in lockstep and reports through ``callback``.

    ``stop_event`` is checked between steps; set it and :meth:`run` returns within one step with
    status "stopped". ``clock`` is injectable so tests need no sleeps.
    """

    # -- setup --------------------------------------------------------------------------------

    def setup(self) -> None:
        """Data on the device, one network and optimiser per contender, all from the same seed."""
        cfg = self.config
        self.start = self.clock()
        self.device = pick_device(cfg.device)
        self._start_workers()
        if self.train_data is None or self.test_data is None:
            self.train_data, self.test_data = load_race_data(cfg)
        self.batches = Batches(
            self.train_data.images.to(self.device), self.train_data.labels.to(self.device), cfg.batch_size,
            padding=cfg.crop_padding,
            order=torch.Generator(device=self.device).manual_seed(cfg.seed),
            augmentation=torch.Generator(device=self.device).manual_seed(cfg.seed + 1),
        )  # fmt: skip
        self._indices = self.batches.forever()
        self.nets: list[nn.Module] = []
        self.optimizers: list[SGD] = []
        kwargs = {} if cfg.widths is None else {"widths": cfg.widths}
        for c in cfg.contenders:
            # The same seed for every network: a plain net and its twin start from identical weights.
            torch.manual_seed(cfg.seed)
            net = create_model(c.model, num_classes=len(self.train_data.classes), residual=c.residual, **kwargs)
            net = net.to(self.device, memory_format=torch.channels_last).train()
            self.nets.append(net)
            self.optimizers.append(
                SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
            )
        self.layers = [weighted_layers(net) for net in self.nets]
        n = len(cfg.contenders)
        self.alive = [True] * n
        self.status: list[Literal["finished", "stopped", "diverged"]] = ["finished"] * n
        self.messages = [""] * n
        self.steps_done = [0] * n
        self.watches = [DivergenceWatch(self.device, patience=cfg.explode_patience) for _ in range(n)]
        self.window = train_window(cfg.steps)
        # (loss, error) of each network's latest steps: enough for the final 10% window.
        self.recent: list[deque[tuple[float, float]]] = [deque(maxlen=self.window) for _ in range(n)]
        self.last_eval: RaceEval | None = None

    def _start_workers(self) -> None:
        """One worker per core this process may use (quota included), at most one per network.

        A GPU queues its work asynchronously, so there one thread serves every network.
        """
        n, cores = len(self.config.contenders), usable_cpus()  # read once: the quota file may change
        self.workers = min(n, cores) if self.device.type == "cpu" else 1
        self._threads_before = torch.get_num_threads()
        if self.device.type == "cpu":
            torch.set_num_threads(max(1, cores // self.workers))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="race") if self.workers > 1 else None
        # The deepest first, so the shallow ones fill in behind them (a step ends with its slowest worker).
        self._order = sorted(range(n), key=lambda i: -self.config.contenders[i].depth)

    def _each(self, work: Callable[[int], _T], indices: Iterable[int]) -> dict[int, _T]:
        """``work(i)`` for every network ``i`` in ``indices``, on the workers; the results by index."""
        wanted = set(indices)
        todo = [i for i in self._order if i in wanted]
        if self._pool is None:
            return {i: work(i) for i in todo}
        return dict(zip(todo, self._pool.map(work, todo)))

    def close(self) -> None:
        """Stop the workers and give torch back its thread count. :meth:`run` calls it."""
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if hasattr(self, "_threads_before"):
            torch.set_num_threads(self._threads_before)

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next augmented mini-batch, drawn without replacement epoch by epoch."""
        return self.batches.batch(next(self._indices))

    # -- one step -------------------------------------------------------------------------------

    def step(self, step: int) -> None:
        """Every network still racing takes one SGD step on the same mini-batch."""
        cfg = self.config
        x, y = self._batch()
        lr = cfg.lr_at(step)
        want_grads = bool(cfg.grad_norm_every and (step + 1) % cfg.grad_norm_every == 0)
        alive = [i for i in range(len(self.nets)) if self.alive[i]]
        done = self._each(lambda i: self._net_step(i, x, y, lr, step, want_grads), alive)
        out = [done.get(i, _NetStep.left()) for i in range(len(self.nets))]
        if want_grads:
            self._emit(RaceGrads(step + 1, tuple(o.names for o in out), tuple(o.norms for o in out)))
        elapsed = self.clock() - self.start
        self._emit(RaceStep(step + 1, tuple(o.loss for o in out), tuple(o.error for o in out), lr, elapsed,
                            (step + 1) / cfg.steps))

    def _net_step(self, i: int, x: torch.Tensor, y: torch.Tensor, lr: float, step: int, want_grads: bool) -> _NetStep:
        """Network ``i``'s step on ``(x, y)``; it touches only network ``i``'s state, so workers share nothing."""
        net, opt = self.nets[i], self.optimizers[i]
        for g in opt.param_groups:
            g["lr"] = lr
        loss, logits = backward(net, x, y, opt, device=self.device)
        value = float(loss)
        error = float((logits.argmax(1) != y).float().mean())
        names: tuple[str, ...] = ()
        norms: tuple[float, ...] = ()
        if want_grads:
            names = tuple(n for n, _ in self.layers[i])
            norms = tuple(grad_norms(self.layers[i]))
        if self._diverged(i, value, step):
            return _NetStep(math.nan, math.nan, names, norms)
        apply_update(opt)
        self.steps_done[i] = step + 1
        self.recent[i].append((value, error))
        return _NetStep(value, error, names, norms)

    def _diverged(self, i: int, loss: float, step: int) -> bool:
        """Retire network ``i`` if its loss is not finite or has stayed blown up; True if retired."""
        watch = self.watches[i]
        if not bool(watch.update(loss, step + 1)):
            return False
        self.alive[i] = False
        self.status[i] = "diverged"
        self.messages[i] = (
            f"{self.config.contenders[i].label} diverged at step {step + 1}: the loss {watch.what()}. "
            f"Lower the learning rate (now {self.config.lr:g}) and try again."
        )
        return True

    # -- evaluation -------------------------------------------------------------------------------

    def evaluate(self, step: int) -> RaceEval:
        """Test loss and error of every network (eval mode, BN running statistics), one view."""
        assert self.test_data is not None
        test = self.test_data

        def measure(i: int) -> tuple[float, float]:
            totals = eval_totals(self.nets[i], test.images, test.labels, device=self.device)
            assert totals is not None  # no stop callback was given
            loss_sum, correct, count = totals.tolist()
            return loss_sum / count, (count - correct) / count

        done = self._each(measure, [i for i in range(len(self.nets)) if self.alive[i]])
        losses = [done[i][0] if i in done else math.nan for i in range(len(self.nets))]
        errors = [done[i][1] if i in done else math.nan for i in range(len(self.nets))]
        record = RaceEval(step, tuple(losses), tuple(errors))
        self.last_eval = record
        self._emit(record)
        return record

    # -- the whole race ---------------------------------------------------------------------------

    def run(self) -> RaceResult:
        """Set up, race ``config.steps`` steps (evaluating every ``eval_every``), finish."""
        try:
            self.setup()
            self.evaluate(0)
            stopped = False
            for step in range(self.config.steps):
                if self.stop_event.is_set():
                    stopped = True
                    break
                if not any(self.alive):
                    break
                self.step(step)
                if (step + 1) % self.config.eval_every == 0 and step + 1 < self.config.steps:
                    self.evaluate(step + 1)
            return self.finish(stopped)
        finally:
            self.close()

    def _judge_end(
        self, i: int, final: RaceEval, train_loss: float | None, message: str
    ) -> tuple[Literal["finished", "diverged"], str]:
        """Network ``i``'s end judged on its held-out numbers, as :class:`~resnet_core.train.Trainer` does.

        A blow-up too short for the step-by-step watch still shows at the end (a non-finite test
        loss, one far above the training loss): the network is "diverged". One at chance stays in
        the race's verdict, since a deep plain net that learns nothing is the lesson itself, but
        its message says so.
        """
        assert self.train_data is not None
        label = self.config.contenders[i].label
        outcome, words = judge_end(final.loss[i], 1 - final.error[i], train_loss, len(self.train_data.classes),
                                   self.config.lr, blew_up=float(self.watches[i].peak_ratio()))
        if outcome == "diverged":
            self.alive[i] = False
            return "diverged", f"{label} {words}"
        if outcome == "learned nothing":
            chance = 1 / len(self.train_data.classes)
            return "finished", (f"{label} learned nothing in {self.steps_done[i]} steps: its test error "
                                f"{final.error[i]:.1%} is chance ({1 - chance:.0%})")
        return "finished", message

    def finish(self, stopped: bool) -> RaceResult:
        """Final evaluation and per-network results; networks back on the CPU in eval mode."""
        done = max(self.steps_done) if self.steps_done else 0
        final = self.evaluate(done)
        results = []
        for i, c in enumerate(self.config.contenders):
            status = self.status[i]
            if stopped and status != "diverged":
                status = "stopped"
            recent = list(self.recent[i])[-train_window(self.steps_done[i]):] if self.steps_done[i] else []
            train_loss = sum(r[0] for r in recent) / len(recent) if recent else None
            train_error = sum(r[1] for r in recent) / len(recent) if recent else None
            test_error = final.error[i] if math.isfinite(final.error[i]) else None
            message = self.messages[i] or f"{c.label}: {self.steps_done[i]} steps"
            if status == "finished" and self.steps_done[i]:
                status, message = self._judge_end(i, final, train_loss, message)
            results.append(ContenderResult(c, status, self.steps_done[i], train_error, train_loss, test_error, message))
        models = tuple(net.eval().to("cpu", memory_format=torch.contiguous_format) for net in self.nets)
        return RaceResult(
            config=self.config,
            status="stopped" if stopped else "finished",
            results=tuple(results),
            models=models,
            wall_s=self.clock() - self.start,
            data=self.train_data.source if self.train_data is not None else "",
            device=str(self.device),
        )
