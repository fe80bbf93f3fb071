"""Training off the caller's thread: a job object the app polls, and a process-wide registry.

A :class:`TrainingJob` runs one or several :class:`~resnet_core.train.Trainer` runs one after
the other on a background thread (several for the plain-vs-residual experiment: the same config
and seed, once without and once with shortcuts). The trainer's callback appends to a
lock-protected history; :meth:`TrainingJob.snapshot` copies it under the same lock, so a reader
never sees a half-updated run. Nothing here imports Streamlit: the Train page and the tests are
two clients of the same object.

The process-wide job registry (run ids, limits, abandonment, expiry) is in
:mod:`resnet_core.registry`; ``JobRegistry``, ``JobRefused`` and ``REGISTRY`` are re-exported here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Sequence

from resnet_core.data import DataError, ImageDataset, load_data
# The registry lives in its own module; these names stay importable from here.
from resnet_core.registry import REGISTRY, JobRefused, JobRegistry, format_duration  # noqa: F401
from resnet_core.settings import DEFAULT_MAX_JOBS, MAX_JOBS_ENV  # noqa: F401
from resnet_core.train import EpochMetrics, GradNorms, StepMetrics, TrainConfig, Trainer, TrainResult

__all__ = [
    "JobRefused",
    "JobRegistry",
    "JobSnapshot",
    "REGISTRY",
    "RunSnapshot",
    "RunSpec",
    "TrainingJob",
    "comparison_runs",
    "paper_recipe",
    "depth_runs",
    "format_duration",
    "leader",
]

log = logging.getLogger(__name__)

JobState = Literal["pending", "running", "finished", "stopped", "diverged", "failed"]
RunStatus = Literal["pending", "running", "finished", "stopped", "diverged", "failed"]
#: States after which the job's thread has ended (or will end without doing more work).
TERMINAL_STATES: frozenset[str] = frozenset({"finished", "stopped", "diverged", "failed"})



@dataclass(frozen=True)
class RunSpec:
    """One training run of a job: a label for charts and legends, and its config."""

    label: str  # e.g. "residual resnet56"
    config: TrainConfig


def paper_recipe(config: TrainConfig) -> TrainConfig:
    """``config`` with the paper's CIFAR-10 optimiser settings (section 4.2), for its 6n+2 nets.

    Batch 128, learning rate 0.1, weight decay 1e-4 and no label smoothing, as He et al. train
    both the plain and the residual nets. The device's tuned default (a wide ResNet-9 at batch
    512) would take only a handful of steps in a few-minute CPU run of a 56-layer net.
    """
    return replace(config, batch_size=128, lr=0.1, momentum=0.9, weight_decay=1e-4, label_smoothing=0.0)


def comparison_runs(config: TrainConfig) -> list[RunSpec]:
    """The plain network and its residual twin, same config and seed, plain first.

    Plain runs first so a user watching live sees the struggling network before the one that
    learns, as in the paper's Figure 6 (left vs middle).
    """
    return [
        RunSpec(f"plain {config.model}", replace(config, residual=False)),
        RunSpec(f"residual {config.model}", replace(config, residual=True)),
    ]


def depth_runs(config: TrainConfig, shallow: str, deep: str) -> list[RunSpec]:
    """A shallow and a deep network, both plain or both residual (``config.residual``).

    Plain 20 vs plain 56 is the paper's Figure 1: the deeper plain net has higher training
    *and* test error (degradation, not overfitting); residual 20 vs 56 shows the fix.
    """
    kind = "residual" if config.residual else "plain"
    return [RunSpec(f"{kind} {name}", replace(config, model=name)) for name in (shallow, deep)]


def leader(
    first: TrainResult, second: TrainResult, margin: float = 0.02, learned: float = 0.05
) -> Literal["first", "second", "tie", "neither", "unknown"]:
    """Which of two runs has the higher test accuracy, judged conservatively.

    "unknown": either has no test accuracy (it diverged, or was stopped before evaluating).
    "neither": both are within ``learned`` of chance (1 / number of classes), so a difference
    between them is noise. "tie": they are within ``margin`` of each other; on the 1,000-image
    test subsets of a short run, two points of accuracy are about the noise level.
    """
    if first.test_acc is None or second.test_acc is None:
        return "unknown"
    if not (math.isfinite(first.test_acc) and math.isfinite(second.test_acc)):
        return "unknown"
    classes = len(first.classes) or 10
    if max(first.test_acc, second.test_acc) < 1 / classes + learned:
        return "neither"
    gap = first.test_acc - second.test_acc
    if abs(gap) < margin:
        return "tie"
    return "first" if gap > 0 else "second"


@dataclass
class _RunRecord:
    """Mutable per-run history, written by the job thread under the job's lock."""

    spec: RunSpec
    status: RunStatus = "pending"
    message: str = ""
    started_at: float | None = None  # time.monotonic()
    ended_at: float | None = None
    steps: list[StepMetrics] = field(default_factory=list)
    epochs: list[EpochMetrics] = field(default_factory=list)
    grad_norms: list[GradNorms] = field(default_factory=list)
    result: TrainResult | None = None


@dataclass(frozen=True)
class RunSnapshot:
    """A consistent copy of one run's history, safe to read on any thread."""

    label: str
    config: TrainConfig
    status: RunStatus
    message: str
    steps: tuple[StepMetrics, ...]
    epochs: tuple[EpochMetrics, ...]
    grad_norms: tuple[GradNorms, ...]
    result: TrainResult | None  # set once the run has ended (not for "failed")
    fraction: float  # 0..1 of this run's epochs or budget done

    def recent_train(self, last: int = 10) -> tuple[float, float] | None:
        """Mean training loss and accuracy over the last ``last`` logged steps, or None.

        One logged step is a single mini-batch and too noisy to compare two runs by.
        """
        steps = [s for s in self.steps[-last:] if math.isfinite(s.loss)]
        if not steps:
            return None
        return sum(s.loss for s in steps) / len(steps), sum(s.acc for s in steps) / len(steps)

    def grad_flow(self, last: int = 10) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """Gradient norm per weighted layer (input to output), averaged over the last records.

        Averaging a few records smooths the step-to-step noise of a single mini-batch while
        still showing the current state of training rather than its first steps.
        """
        records = self.grad_norms[-last:]
        if not records:
            return (), ()
        names = records[-1].names
        same = [r for r in records if r.names == names]
        norms = tuple(sum(r.norms[i] for r in same) / len(same) for i in range(len(names)))
        return names, norms


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state for display: taken under the lock, never changes."""

    job_id: str
    state: JobState
    message: str
    runs: tuple[RunSnapshot, ...]
    current: int  # index of the run in progress (or the last one that ran)
    progress: float  # 0..1 over all runs
    eta_s: float | None  # seconds left, None until there is something to extrapolate from
    elapsed_s: float  # wall seconds since the job started
    images_per_s: float | None  # training throughput of the latest logged step

    @property
    def done(self) -> bool:
        """True once the job will do no more work."""
        return self.state in TERMINAL_STATES


def _run_fraction(config: TrainConfig, steps: Sequence[StepMetrics], status: RunStatus) -> float:
    """How far a run is, from its time budget or its epochs, whichever ends it first."""
    if status in ("finished", "diverged", "stopped", "failed"):
        return 1.0
    if not steps:
        return 0.0
    last = steps[-1]
    fractions = []
    if config.budget_s:
        fractions.append(last.elapsed_s / config.budget_s)
    if config.epochs:
        fractions.append(last.epoch / config.epochs)
    return min(1.0, max(fractions)) if fractions else 0.0


def _error_message(exc: BaseException) -> str:
    """What the user sees for an exception from the job thread."""
    # DataError and config ValueErrors are written for people: show them verbatim.
    if isinstance(exc, (DataError, ValueError)):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
        return f"out of memory ({text[:200]}): lower the batch size or pick a smaller model"
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


class TrainingJob:
    """One background thread training ``runs`` in sequence, with a history the caller polls.

    Use ``start()``, then poll :meth:`snapshot`; ``stop()`` asks the current run to end and
    skips the rest; ``join()`` waits for the thread. ``train_data``/``test_data`` are loaded on the
    job's thread from the first run's config when not given, and shared by all runs so the plain
    and residual twins see exactly the same images.
    """

    def __init__(
        self,
        runs: Sequence[RunSpec],
        *,
        session_id: str | None = None,
        train_data: ImageDataset | None = None,
        test_data: ImageDataset | None = None,
        trainer_factory: Callable[..., Trainer] = Trainer,
    ) -> None:
        if not runs:
            raise ValueError("a training job needs at least one run")
        self.job_id = uuid.uuid4().hex[:12]
        self.session_id = session_id
        self._runs = [_RunRecord(spec) for spec in runs]
        self._train_data = train_data
        self._test_data = test_data
        self._trainer_factory = trainer_factory
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"training-job-{self.job_id}", daemon=True)
        self._state: JobState = "pending"
        self._message = "waiting to start"
        self._current = 0
        self._started_at: float | None = None
        self._ended_at: float | None = None

    # --- control -----------------------------------------------------------------------------

    def start(self) -> TrainingJob:
        """Start the background thread; returns self so ``job = TrainingJob(...).start()`` reads."""
        with self._lock:
            if self._state != "pending":
                raise RuntimeError(f"job {self.job_id} was already started")
            self._state = "running"
            self._message = "loading data"
            self._started_at = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop; returns at once. The state becomes "stopped" when the run ends."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has (or never started)."""
        if self._thread.ident is not None:  # joining a thread that never started raises
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- reading -----------------------------------------------------------------------------

    @property
    def state(self) -> JobState:
        with self._lock:
            return self._state

    @property
    def message(self) -> str:
        with self._lock:
            return self._message

    @property
    def is_active(self) -> bool:
        """True while the job holds (or is about to hold) a training slot."""
        with self._lock:
            return self._state in ("pending", "running")

    @property
    def ended_at(self) -> float | None:
        """``time.monotonic()`` when the job reached a terminal state."""
        with self._lock:
            return self._ended_at

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(r.spec.label for r in self._runs)

    def results(self) -> list[TrainResult]:
        """Results of the runs that have ended, in run order."""
        with self._lock:
            return [r.result for r in self._runs if r.result is not None]

    def snapshot(self) -> JobSnapshot:
        """Copy the whole state under the lock: the caller may read it at leisure."""
        now = time.monotonic()
        with self._lock:
            runs = tuple(
                RunSnapshot(
                    label=r.spec.label,
                    config=r.spec.config,
                    status=r.status,
                    message=r.message,
                    steps=tuple(r.steps),
                    epochs=tuple(r.epochs),
                    grad_norms=tuple(r.grad_norms),
                    result=r.result,
                    fraction=_run_fraction(r.spec.config, r.steps, r.status),
                )
                for r in self._runs
            )
            state, message, current = self._state, self._message, self._current
            started, ended = self._started_at, self._ended_at
        elapsed = 0.0 if started is None else (ended or now) - started
        progress = 1.0 if state == "finished" else sum(r.fraction for r in runs) / len(runs)
        return JobSnapshot(
            job_id=self.job_id,
            state=state,
            message=message,
            runs=runs,
            current=current,
            progress=progress,
            eta_s=self._eta(runs, current, state, elapsed, progress),
            elapsed_s=elapsed,
            images_per_s=runs[current].steps[-1].images_per_s if runs[current].steps else None,
        )

    @staticmethod
    def _eta(
        runs: tuple[RunSnapshot, ...], current: int, state: JobState, elapsed: float, progress: float
    ) -> float | None:
        """Seconds left: exact from a time budget, else extrapolated from the pace so far."""
        if state in TERMINAL_STATES:
            return 0.0
        run = runs[current]
        budget = run.config.budget_s
        if budget and not run.config.epochs:
            # A budget run ends when its clock runs out; later runs take the same budget.
            done_s = run.steps[-1].elapsed_s if run.steps else 0.0
            later = sum(r.config.budget_s or 0.0 for r in runs[current + 1:])
            return max(0.0, budget - done_s) + later
        if progress <= 0.01:  # too early to extrapolate (data loading, first steps)
            return None
        return elapsed / progress * (1.0 - progress)

    # --- the thread --------------------------------------------------------------------------

    def _on_metrics(self, index: int, item: Any) -> None:
        """The trainer's callback: file each record under the lock, by type."""
        with self._lock:
            record = self._runs[index]
            if isinstance(item, StepMetrics):
                record.steps.append(item)
                self._message = f"training {record.spec.label}"
            elif isinstance(item, EpochMetrics):
                record.epochs.append(item)
            elif isinstance(item, GradNorms):
                record.grad_norms.append(item)
            else:  # a record type this job does not chart yet: keep going, but say so once
                log.debug("ignoring trainer callback item %r", type(item).__name__)

    def _set(self, **fields: Any) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self, f"_{name}", value)

    def _main(self) -> None:
        try:
            self._train_all()
        except BaseException as exc:  # noqa: BLE001 - a thread has nobody to raise to: record it
            log.exception("training job %s failed", self.job_id)
            message = _error_message(exc)
            with self._lock:
                record = self._runs[self._current]
                if record.status in ("pending", "running"):
                    record.status, record.message, record.ended_at = "failed", message, time.monotonic()
                self._state, self._message, self._ended_at = "failed", message, time.monotonic()
        finally:
            # The datasets can be 180 MB for CIFAR-10: let them go with the thread.
            self._train_data = self._test_data = None

    def _train_all(self) -> None:
        first = self._runs[0].spec.config
        if self._train_data is None or self._test_data is None:
            self._train_data, self._test_data = load_data(first)
        for index, record in enumerate(self._runs):
            if self._stop.is_set():
                break
            with self._lock:
                self._current = index
                record.status, record.started_at = "running", time.monotonic()
                self._message = f"starting {record.spec.label}"
            trainer = self._trainer_factory(
                record.spec.config,
                callback=lambda item, i=index: self._on_metrics(i, item),
                stop_event=self._stop,
                train_data=self._train_data,
                test_data=self._test_data,
            )
            result = trainer.run()
            with self._lock:
                record.result, record.status = result, result.status
                record.message, record.ended_at = result.message, time.monotonic()
        self._finish()

    def _finish(self) -> None:
        """Set the job's final state from its runs' statuses."""
        with self._lock:
            statuses = [r.status for r in self._runs]
            diverged = [r.spec.label for r in self._runs if r.status == "diverged"]
            if "stopped" in statuses or (self._stop.is_set() and "pending" in statuses):
                state: JobState = "stopped"
                message = "stopped: the results so far are kept"
            elif diverged:
                state = "diverged"
                details = "; ".join(f"{r.spec.label}: {r.message}" for r in self._runs if r.status == "diverged")
                message = (f"{', '.join(diverged)} diverged (the loss became NaN or infinite): "
                           f"lower the learning rate and try again. {details}")
            else:
                state, message = "finished", "finished"
            for r in self._runs:  # runs skipped by a stop never started
                if r.status == "pending":
                    r.status, r.message = "stopped", "not started: the job was stopped"
            self._state, self._message, self._ended_at = state, message, time.monotonic()
