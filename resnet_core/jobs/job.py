"""Long work off the caller's thread: job objects the app polls.

A job owns one background thread, a stop event and a lock-protected history. Its worker (a
:class:`~resnet_core.train.Trainer` or a :class:`~resnet_core.race.Race`) reports through a
callback that files every record under the lock; :meth:`Job.snapshot` copies the history under
the same lock, so a reader never sees a half-updated run. That history is the only one: the
workers keep none of their own. Nothing here imports Streamlit: the pages and the tests are two
clients of the same objects.

The process-wide job registry (run ids, limits, abandonment, expiry) is in
:mod:`resnet_core.registry`; ``JobRegistry``, ``JobRefused`` and ``REGISTRY`` are re-exported here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Generic, Literal, TypeVar

from resnet_core.data import DataError, ImageDataset
from resnet_core.experiments import Experiment, Scale, Verdict, data_words, pace_note, verdict
from resnet_core.memory import trim_heap
from resnet_core.race import Race, RaceConfig, RaceEval, RaceGrads, RaceMetrics, RaceResult, RaceStep
# The registry lives in its own module; these names stay importable from here.
from resnet_core.registry import REGISTRY, JobRefused, JobRegistry, format_duration  # noqa: F401
from resnet_core.train import EpochMetrics, GradNorms, Metrics, StepMetrics, TrainConfig, Trainer, TrainResult

__all__ = [
    "Job",
    "JobRefused",
    "JobRegistry",
    "REGISTRY",
    "RaceJob",
    "RaceSnapshot",
    "TrainingJob",
    "TrainingSnapshot",
    "format_duration",
]

log = logging.getLogger(__name__)
# While a job runs, hand the free pages of malloc's arenas back this often. The server's many
# threads (page scripts, chart updates, evaluation) leave free pages between live blocks that
# glibc keeps; one default network trained after a race peaked 922-924 MB with this against
# 950-978 MB without (bench/RESULTS.md, "Server memory"). One trim takes ~11 ms there.
TRIM_EVERY_S = 5.0

JobState = Literal["pending", "running", "finished", "stopped", "diverged", "failed"]
#: States after which the job's thread has ended (or will end without doing more work).
TERMINAL_STATES: frozenset[str] = frozenset({"finished", "stopped", "diverged", "failed"})

R = TypeVar("R")  # what a job's worker returns
M = TypeVar("M")  # the records it reports


def _error_message(exc: BaseException) -> str:
    """What the user sees for an exception from the job thread."""
    # DataError and config ValueErrors are written for people: show them verbatim.
    if isinstance(exc, (DataError, ValueError)):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
        return f"out of memory ({text[:200]}): lower the batch size or pick a smaller model"
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


class Job(Generic[R, M]):
    """One background thread running :meth:`_work`, with a history the caller polls.

    ``start()``, then poll ``snapshot()``; ``stop()`` asks the worker to end (it checks between
    steps); ``join()`` waits for the thread. Subclasses define ``_work`` and ``snapshot``.
    ``clock`` is injectable so that tests of timing logic need no sleeps.
    """

    def __init__(self, *, session_id: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id = uuid.uuid4().hex[:12]
        self.session_id = session_id
        self.clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"job-{self.job_id}", daemon=True)
        self._state: JobState = "pending"
        self._message = "waiting to start"
        self._records: list[M] = []
        self._result: R | None = None
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._trimmed_at = clock()

    # --- control -----------------------------------------------------------------------------

    def start(self) -> "Job[R, M]":
        """Start the background thread; returns self so ``job = Job(...).start()`` reads."""
        with self._lock:
            if self._state != "pending":
                raise RuntimeError(f"job {self.job_id} was already started")
            self._state, self._message, self._started_at = "running", "loading data", self.clock()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop; returns at once. The state becomes "stopped" when the worker ends."""
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
    def is_active(self) -> bool:
        """True while the job holds (or is about to hold) a training slot."""
        with self._lock:
            return self._state in ("pending", "running")

    @property
    def ended_at(self) -> float | None:
        """``clock()`` when the job reached a terminal state."""
        with self._lock:
            return self._ended_at

    @property
    def result(self) -> R | None:
        with self._lock:
            return self._result

    def _copy(self) -> tuple[JobState, str, tuple[M, ...], R | None, float]:
        """State, message, records, result and elapsed seconds, copied under the lock."""
        with self._lock:
            started, ended = self._started_at, self._ended_at
            elapsed = 0.0 if started is None else (ended if ended is not None else self.clock()) - started
            return self._state, self._message, tuple(self._records), self._result, elapsed

    # --- the thread --------------------------------------------------------------------------

    def _record(self, item: M) -> None:
        """The worker's callback: file one record under the lock."""
        with self._lock:
            self._records.append(item)
            if self._message == "loading data":
                self._message = "training"
        now = self.clock()
        if now - self._trimmed_at >= TRIM_EVERY_S:
            self._trimmed_at = now
            trim_heap()

    def _main(self) -> None:
        try:
            result = self._work()
            state, message = self._final_state(result)
        except BaseException as exc:  # noqa: BLE001 - a thread has nobody to raise to: record it
            log.exception("job %s failed", self.job_id)
            result, state, message = None, "failed", _error_message(exc)
        with self._lock:
            self._result, self._state, self._message, self._ended_at = result, state, message, self.clock()

    def _work(self) -> R:
        raise NotImplementedError

    def _final_state(self, result: R) -> tuple[JobState, str]:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# One network
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSnapshot:
    """A consistent copy of a training job, for display."""

    job_id: str
    label: str
    config: TrainConfig
    state: JobState
    message: str
    steps: tuple[StepMetrics, ...]
    epochs: tuple[EpochMetrics, ...]
    grad_norms: tuple[GradNorms, ...]
    result: TrainResult | None
    progress: float  # 0..1, the trainer's own figure
    elapsed_s: float  # wall seconds since the job started
    eta_s: float | None  # seconds left; None until there is something to extrapolate from

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def images_per_s(self) -> float | None:
        return self.steps[-1].images_per_s if self.steps else None

    def grad_flow(self, last: int = 10) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """Gradient norm per weighted layer (input to output), averaged over the last records.

        Averaging a few records smooths the step-to-step noise of a single mini-batch while still
        showing the current state of training rather than its first steps.
        """
        return _mean_norms([(g.names, g.norms) for g in self.grad_norms[-last:]])


def _mean_norms(records: list[tuple[tuple[str, ...], tuple[float, ...]]]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    if not records or not records[-1][0]:
        return (), ()
    names = records[-1][0]
    same = [norms for n, norms in records if n == names]
    return names, tuple(sum(r[i] for r in same) / len(same) for i in range(len(names)))


class TrainingJob(Job[TrainResult, Metrics]):
    """One :class:`~resnet_core.train.Trainer` run on a background thread."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        label: str | None = None,
        session_id: str | None = None,
        train_data: ImageDataset | None = None,
        test_data: ImageDataset | None = None,
        trainer_factory: Callable[..., Trainer] = Trainer,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(session_id=session_id, clock=clock)
        self.config = config
        self.label = label or f"{'residual' if config.residual else 'plain'} {config.model}"
        self._train_data, self._test_data = train_data, test_data
        self._trainer_factory = trainer_factory

    def _work(self) -> TrainResult:
        trainer = self._trainer_factory(
            self.config, callback=self._record, stop_event=self._stop,
            train_data=self._train_data, test_data=self._test_data,
        )  # fmt: skip
        try:
            return trainer.run()
        finally:
            self._train_data = self._test_data = None  # 180 MB for CIFAR-10: let it go with the run

    def _final_state(self, result: TrainResult) -> tuple[JobState, str]:
        return result.status, result.message

    def snapshot(self) -> TrainingSnapshot:
        """Copy the whole state under the lock: the caller may read it at leisure."""
        state, message, records, result, elapsed = self._copy()
        steps = tuple(r for r in records if isinstance(r, StepMetrics))
        progress = 1.0 if state in TERMINAL_STATES else (steps[-1].progress if steps else 0.0)
        eta = 0.0 if state in TERMINAL_STATES else _eta(elapsed, progress)
        return TrainingSnapshot(
            job_id=self.job_id, label=self.label, config=self.config, state=state, message=message,
            steps=steps,
            epochs=tuple(r for r in records if isinstance(r, EpochMetrics)),
            grad_norms=tuple(r for r in records if isinstance(r, GradNorms)),
            result=result, progress=progress, elapsed_s=elapsed, eta_s=eta,
        )  # fmt: skip


def _eta(elapsed: float, progress: float) -> float | None:
    """Seconds left, extrapolated from the pace so far; None while too early to tell."""
    if progress <= 0.02:  # data loading and the first steps say little about the pace
        return None
    return elapsed / progress * (1.0 - progress)


# --------------------------------------------------------------------------------------------
# A race
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaceSnapshot:
    """A consistent copy of a race job, for display."""

    job_id: str
    experiment: Experiment
    scale: Scale
    config: RaceConfig
    state: JobState
    message: str
    steps: tuple[RaceStep, ...]
    evals: tuple[RaceEval, ...]
    grads: tuple[RaceGrads, ...]
    result: RaceResult | None
    verdict: Verdict | None  # once the race has ended
    progress: float
    elapsed_s: float
    eta_s: float | None
    pace_note: str | None  # set when this machine runs the race far slower than expected

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.config.contenders)

    def grad_flow(self, index: int, last: int = 10) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """Mean gradient norm per weighted layer of contender ``index`` over its latest records."""
        return _mean_norms([(g.names[index], g.norms[index]) for g in self.grads[-last:]])


class RaceJob(Job[RaceResult, RaceMetrics]):
    """One :class:`~resnet_core.race.Race` of an :class:`~resnet_core.experiments.Experiment` on a thread."""

    def __init__(
        self,
        experiment: Experiment,
        scale: Scale,
        config: RaceConfig,
        *,
        session_id: str | None = None,
        train_data: ImageDataset | None = None,
        test_data: ImageDataset | None = None,
        race_factory: Callable[..., Race] = Race,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(session_id=session_id, clock=clock)
        self.experiment, self.scale, self.config = experiment, scale, config
        self._train_data, self._test_data = train_data, test_data
        self._race_factory = race_factory
        self._verdict: Verdict | None = None

    def _work(self) -> RaceResult:
        race = self._race_factory(
            self.config, callback=self._record, stop_event=self._stop,
            train_data=self._train_data, test_data=self._test_data,
        )  # fmt: skip
        try:
            result = race.run()
        finally:
            self._train_data = self._test_data = None
        judged = verdict(self.experiment, result.results, planned_steps=self.config.steps,
                         data=data_words(result.data))  # CIFAR-10 and the synthetic shapes: 10 classes
        with self._lock:
            self._verdict = judged
        return result

    def _final_state(self, result: RaceResult) -> tuple[JobState, str]:
        diverged = [r.message for r in result.results if r.status == "diverged"]
        if result.status == "stopped":
            return "stopped", "stopped: the curves so far are kept"
        if diverged and len(diverged) == len(result.results):
            return "diverged", " ".join(diverged)
        return "finished", "finished" + (f" ({' '.join(diverged)})" if diverged else "")

    def snapshot(self) -> RaceSnapshot:
        """Copy the whole state under the lock: the caller may read it at leisure."""
        state, message, records, result, elapsed = self._copy()
        steps = tuple(r for r in records if isinstance(r, RaceStep))
        done = state in TERMINAL_STATES
        progress = 1.0 if done else (steps[-1].fraction if steps else 0.0)
        note = None
        if not done and len(steps) >= 10:
            # Pace over the latest steps, evaluation included: what the visitor is waiting for.
            recent = steps[-10:]
            per_step = (recent[-1].elapsed_s - recent[0].elapsed_s) / max(len(recent) - 1, 1)
            note = pace_note(self.scale, per_step, self.config.steps - steps[-1].step)
        with self._lock:
            final_verdict = self._verdict
        return RaceSnapshot(
            job_id=self.job_id, experiment=self.experiment, scale=self.scale, config=self.config,
            state=state, message=message, steps=steps,
            evals=tuple(r for r in records if isinstance(r, RaceEval)),
            grads=tuple(r for r in records if isinstance(r, RaceGrads)),
            result=result, verdict=final_verdict if done else None, progress=progress, elapsed_s=elapsed,
            eta_s=0.0 if done else _eta(elapsed, progress), pace_note=note,
        )  # fmt: skip
