"""The base of every long-running job: one background thread, a stop event, a locked history.

A job's worker (a :class:`~resnet_core.train.Trainer`, a :class:`~resnet_core.race.Race`, a
fine-tuning run) reports through a callback that files every record under the lock; a
subclass's ``snapshot()`` copies the history under the same lock, so a reader never sees a
half-updated run. That history is the only one: the workers keep none of their own. One set of
states and one error text serve every kind of job. Nothing here imports Streamlit or torch.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable, ClassVar, Generic, Literal, TypeVar

from resnet_core.memory import trim_heap

__all__ = ["Job", "JobSnapshot", "JobState", "TERMINAL_STATES", "TRIM_EVERY_S", "error_message", "eta_from_progress"]

log = logging.getLogger(__name__)
# While a job runs, hand the free pages of malloc's arenas back this often: the server's many
# threads (page scripts, chart updates, evaluation) leave free pages between live blocks that
# glibc keeps. What it saves and what one trim costs: bench/RESULTS.md, "Server memory"
# (2026-11-26, trims while a job runs).
TRIM_EVERY_S = 5.0

JobState = Literal["pending", "running", "finished", "stopped", "diverged", "failed"]
#: States after which the job's thread has ended (or will end without doing more work).
TERMINAL_STATES: frozenset[str] = frozenset({"finished", "stopped", "diverged", "failed"})



@dataclass(frozen=True)
class JobSnapshot:
    """What every job's snapshot says: which job, its state and message, its time so far and left.

    Each kind of job's snapshot adds its own fields after these, and is built by keyword.
    """

    job_id: str
    state: JobState
    message: str
    elapsed_s: float  # wall seconds since the job started
    eta_s: float | None  # seconds left; None until there is something to extrapolate from


R = TypeVar("R")  # what a job's worker returns
M = TypeVar("M")  # the records it reports


def error_message(exc: BaseException, readable: tuple[type[BaseException], ...] = (ValueError,)) -> str:
    """What the user sees for an exception from a job's thread.

    ``readable``: the exception types whose messages are written for people (the data, picture,
    checkpoint and config errors are ValueErrors), shown verbatim. Anything else is a bug: its
    type and first line (the job logs the traceback).
    """
    if isinstance(exc, readable):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
        return f"out of memory ({text[:200]}): lower the batch size or pick a smaller model"
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def eta_from_progress(elapsed: float, progress: float) -> float | None:
    """Seconds left, extrapolated from the pace so far; None while too early to tell."""
    if progress <= 0.02:  # data loading and the first steps say little about the pace
        return None
    return elapsed / progress * (1.0 - progress)


class Job(Generic[R, M]):
    """One background thread running :meth:`_work`, with a history the caller polls.

    ``start()``, then poll ``snapshot()``; ``stop()`` asks the worker to end (it checks between
    steps); ``join()`` waits for the thread. Subclasses define ``_work``, ``_final_state`` and
    ``snapshot``. ``clock`` is injectable so that tests of timing logic need no sleeps.
    """

    #: The message from ``start()`` until the worker's first record.
    STARTING_MESSAGE: ClassVar[str] = "loading data"
    #: Exceptions whose messages are written for people (see :func:`error_message`).
    READABLE_ERRORS: ClassVar[tuple[type[BaseException], ...]] = (ValueError,)

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
        self._stop_reason: str | None = None
        self._trimmed_at = clock()

    # --- control -----------------------------------------------------------------------------

    def start(self) -> "Job[R, M]":
        """Start the background thread; returns self so ``job = Job(...).start()`` reads."""
        with self._lock:
            if self._state != "pending":
                raise RuntimeError(f"job {self.job_id} was already started")
            self._state, self._message, self._started_at = "running", self.STARTING_MESSAGE, self.clock()
        self._thread.start()
        return self

    def stop(self, reason: str | None = None) -> None:
        """Ask the job to stop; returns at once. The state becomes "stopped" when the worker ends.

        ``reason`` (the server's limit per run, say) then replaces the worker's own message.
        """
        if reason is not None:
            with self._lock:
                self._stop_reason = reason
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
        """True while the job holds (or is about to hold) a slot of the server's runs."""
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
            if self._message == self.STARTING_MESSAGE:
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
            result, state, message = None, "failed", error_message(exc, self.READABLE_ERRORS)
        with self._lock:
            if state == "stopped" and self._stop_reason is not None:
                message = self._stop_reason
            self._result, self._state, self._message, self._ended_at = result, state, message, self.clock()

    def _work(self) -> R:
        raise NotImplementedError

    def _final_state(self, result: R) -> tuple[JobState, str]:
        raise NotImplementedError
