"""The server's runs: background jobs by run id, shared by every visitor of one server process.

A Streamlit server runs every browser tab in one process, so this table is what lets a tab find
its run again: the page puts a random *run id* in the URL's query parameters, and a reload (F5),
which starts a new Streamlit session, reads it back and reconnects (issue #10). The same object
keeps a small server honest, for trainings, races and fine-tunes alike (issue #20):

- **one run at a time** by default (``$RESNET_MAX_JOBS``, trainings and fine-tunes counted
  together); a visitor who asks while the slot is taken is refused at once with the time the
  running job still needs (:class:`JobRefused`);
- **no run holds a slot for ever**: a run older than ``max_run_s`` (``$RESNET_MAX_RUN_S``, 15
  minutes) is stopped, watched or not, and says so in its state message; the busy message's wait
  is capped by it (issue #19), so one open tab cannot keep a public server's slot for hours;
- **abandoned runs stop**: each poll from a page calls :meth:`Runs.touch`; a run no tab has
  touched for ``abandon_s`` (``$RESNET_ABANDON_S``, 2 minutes) is stopped, so a closed tab does not
  hold the slot for the rest of its budget;
- **results expire**: an ended job is dropped ``keep_s`` (``$RESNET_KEEP_S``, 15 minutes) after it
  ended and after the last look at it, and the memory it held is handed back to the OS;
- **finished runs persist**: a race or training that ended with results is written to the archive
  (:mod:`resnet_core.jobs.archive`, ``$RESNET_RUNS_DIR``) by the next sweep, and :meth:`Runs.get`
  reads it back once it expired from memory or the server restarted;
- **shutdown waits**: at interpreter exit every job is stopped and joined, so SIGTERM or Ctrl-C
  exits 0 instead of aborting inside torch.

A daemon thread sweeps every few seconds, so abandonment and expiry happen with nobody watching;
tests pass ``reap_every=None`` and a fake ``clock`` and call :meth:`Runs.sweep` themselves.
The table knows jobs only through the small :class:`JobHandle` protocol, which every
:class:`~resnet_core.jobs.job.Job` satisfies. The app uses the one process-wide instance,
``resnet_core.jobs.RUNS``. Nothing here imports torch: every page's sidebar reads it.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, TypeVar, runtime_checkable

from resnet_core import settings
from resnet_core.jobs.archive import Archive
from resnet_core.jobs.runid import new_run_id, valid_run_id
from resnet_core.jobs.setting_default import SettingDefault
from resnet_core.memory import forget_idle_caches, release_memory

__all__ = [
    "RUNS",
    "Availability",
    "JobHandle",
    "JobRefused",
    "Runs",
    "format_duration",
    "limit_message",
    "new_run_id",
    "valid_run_id",
]

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class Snapshot(Protocol):
    """What :class:`Runs` reads from a job's snapshot: the seconds it still needs, if known."""

    @property
    def eta_s(self) -> float | None: ...


@runtime_checkable
class JobHandle(Protocol):
    """A started background job, as :class:`Runs` sees it (every ``resnet_core.jobs.Job`` is one).

    ``ended_at`` is on the table's clock (``time.monotonic`` unless a test injects another).
    ``stop()`` returns at once; the job ends soon after (a trainer within one step). ``stop(reason)``
    also says why: a job that ends "stopped" then shows ``reason`` as its message.
    """

    job_id: str

    @property
    def is_active(self) -> bool: ...

    @property
    def ended_at(self) -> float | None: ...

    def stop(self, reason: str | None = None) -> None: ...

    def join(self, timeout: float | None = None) -> bool: ...

    def snapshot(self) -> Snapshot: ...


J = TypeVar("J", bound=JobHandle)

def format_duration(seconds: float | None) -> str:
    """``"1 min 05 s"``, ``"42 s"`` or ``"estimating..."`` (for None): a duration or ETA as people read it."""
    if seconds is None or math.isnan(seconds):
        return "estimating..."
    seconds = int(round(seconds))
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class JobRefused(RuntimeError):
    """The server will not start a job now; the message says why and what to do.

    ``eta_s``: seconds until a slot should free up (None when unknown or not a matter of waiting).
    """

    def __init__(self, message: str, eta_s: float | None = None) -> None:
        super().__init__(message)
        self.eta_s = eta_s


@dataclass(frozen=True)
class Availability:
    """Whether a new job could start now, and if not, roughly when."""

    running: int
    limit: int
    eta_s: float | None  # seconds until the first running job should end; None: free now or unknown
    # Seconds until the limit per run ($RESNET_MAX_RUN_S) frees a slot at the latest; None: free now.
    latest_s: float | None = field(default=None, compare=False)

    @property
    def free(self) -> bool:
        return self.running < self.limit

    def busy_message(self) -> str:
        """For a visitor who cannot start now: how busy, for how long, what to do."""
        noun = "a model" if self.running == 1 else f"{self.running} models"
        if self.eta_s is not None and self.eta_s > 0:
            wait = f"about {format_duration(self.eta_s)} left"
        elif self.latest_s is not None:
            wait = f"time left not known yet, at most {format_duration(self.latest_s)}: this server's limit per run"
        else:
            wait = "time left not known yet"
        return (
            f"The server is busy training {noun} for other visitors ({wait}); it runs {self.limit} at a "
            "time, trainings and fine-tunes together, so each run stays fast. Keep this page open: you "
            "can start as soon as the slot is free."
        )


@dataclass
class _Entry:
    job: JobHandle
    last_seen: float  # the table's clock: start, or the last touch() from a page
    started: float  # the table's clock when the run took its slot
    abandoned: bool = False  # stopped by the sweep because no tab watched it
    limited: bool = False  # stopped by the sweep because it reached max_run_s
    trimmed: bool = False  # its thread ended and the memory was handed back
    archived: bool = False  # written to (or read from) the archive of finished runs, or not to be


class Runs:
    """The server's runs: jobs by run id, a cap on how many run at once, abandonment and expiry.

    ``max_running``, ``abandon_s``, ``keep_s`` and ``max_run_s`` default to the settings (read when used, so
    tests and deployments can change the environment). ``clock`` must be the clock the jobs
    stamp ``ended_at`` with. ``reap_every``: seconds between background sweeps; None: no thread.
    ``archive``: where ended runs are written and where :meth:`get` looks for a run no longer in
    memory (a restarted server's); None: memory only.
    """

    def __init__(
        self,
        max_running: int | None = None,
        *,
        abandon_s: float | None = None,
        keep_s: float | None = None,
        max_run_s: float | None = None,
        clock: Clock = time.monotonic,
        reap_every: float | None = 5.0,
        archive: Archive | None = None,
    ) -> None:
        self._archive = archive
        self._max_running = max_running
        self._abandon_s = abandon_s
        self._keep_s = keep_s
        self._max_run_s = max_run_s
        self._clock = clock
        self._reap_every = reap_every
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        # Every job started and not yet seen to end, even once forgotten: shutdown must wait for them all.
        self._live: list[JobHandle] = []
        self._closed = threading.Event()
        self._reaper: threading.Thread | None = None

    # --- settings ------------------------------------------------------------------------------

    max_running = SettingDefault(settings.max_jobs)
    abandon_s = SettingDefault(settings.abandon_s)
    keep_s = SettingDefault(settings.keep_s)
    max_run_s = SettingDefault(settings.max_run_s)

    # --- starting ------------------------------------------------------------------------------

    def start(self, run_id: str, make_job: Callable[[], J]) -> J:
        """Start the job ``make_job()`` builds and starts, under ``run_id``; or raise :class:`JobRefused`.

        ``make_job`` is called under the table's lock, so two visitors clicking Start at once
        cannot both take the last slot; it should start a thread and return, not do the work.
        A run id whose job is still running is refused (stop it first): a stray click must not
        throw away a run someone has watched for minutes. Its ended job is replaced.
        """
        if not run_id:
            raise ValueError("a job needs a run id")
        limit, max_run_s = self.max_running, self.max_run_s
        self._sweep()
        with self._lock:
            existing = self._entries.get(run_id)
            if existing is not None and existing.job.is_active:
                raise JobRefused("this run is still training: stop it (or wait for it to finish) before starting another")
            availability = self._availability_locked(limit, max_run_s)
            if not availability.free:
                wait = availability.eta_s if availability.eta_s is not None else availability.latest_s
                raise JobRefused(availability.busy_message(), wait)
            job = make_job()
            now = self._clock()
            self._entries[run_id] = _Entry(job, last_seen=now, started=now)
            self._live.append(job)
        self._ensure_reaper()
        return job

    # --- reading and heartbeats ----------------------------------------------------------------

    def get(self, run_id: str | None) -> JobHandle | None:
        """The run's job (running, ended and not yet expired, or ended and in the archive), if any."""
        if not run_id:
            return None
        self._sweep()
        with self._lock:
            entry = self._entries.get(run_id)
            if entry is not None or self._archive is None:
                return None if entry is None else entry.job
        restored = self._archive.load(run_id, clock=self._clock)  # outside the lock: it reads files
        if restored is None:
            return None
        with self._lock:  # kept in memory like any ended run, so the next look reads no file
            now = self._clock()
            entry = self._entries.setdefault(run_id, _Entry(restored, last_seen=now, started=now, archived=True))
            return entry.job

    def touch(self, run_id: str | None) -> bool:
        """A tab is watching ``run_id``: postpone its abandonment and expiry. False if unknown."""
        if not run_id:
            return False
        with self._lock:
            entry = self._entries.get(run_id)
            if entry is None:
                return False
            entry.last_seen = self._clock()
            return True

    def abandoned(self, run_id: str | None) -> bool:
        """True if the sweep stopped this run because no tab watched it for ``abandon_s``."""
        with self._lock:
            entry = self._entries.get(run_id or "")
            return entry is not None and entry.abandoned

    def availability(self) -> Availability:
        """Whether a new job could start now, and the running jobs' time left."""
        limit, max_run_s = self.max_running, self.max_run_s
        self._sweep()
        with self._lock:
            return self._availability_locked(limit, max_run_s)

    def running_count(self) -> int:
        with self._lock:
            return sum(e.job.is_active for e in self._entries.values())

    def _availability_locked(self, limit: int, max_run_s: float) -> Availability:
        now = self._clock()
        active = [e for e in self._entries.values() if e.job.is_active]
        if len(active) < limit:
            return Availability(len(active), limit, None)
        by_limit = [max(0.0, e.started + max_run_s - now) for e in active]
        etas = [eta for eta in (_capped_eta(_eta(e.job), left) for e, left in zip(active, by_limit)) if eta is not None]
        # The slot that frees first is the one a waiting visitor gets; the limit frees one at the latest.
        return Availability(len(active), limit, min(etas) if etas else None, latest_s=min(by_limit))

    # --- stopping ------------------------------------------------------------------------------

    def stop(self, run_id: str | None) -> bool:
        """Ask the run's job to stop; True if there was an active one."""
        job = self.get(run_id)
        if job is None or not job.is_active:
            return False
        job.stop()
        return True

    def forget(self, run_id: str) -> None:
        """Drop the run's job, stopping it first if it is still running (shutdown still waits for it)."""
        with self._lock:
            entry = self._entries.pop(run_id, None)
        if entry is not None:
            entry.job.stop()

    def stop_all(self, timeout: float | None = None) -> bool:
        """Stop every job (forgotten ones too), wait up to ``timeout`` s in all; True if all ended.

        Jobs that have not ended by then stay on the list a later call (the exit hook) waits for.
        """
        with self._lock:
            jobs = list({id(j): j for j in [*self._live, *(e.job for e in self._entries.values())]}.values())
            self._entries.clear()
        for job in jobs:
            job.stop()
        deadline = None if timeout is None else time.monotonic() + timeout
        ended = True
        for job in jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ended = job.join(left) and ended
        with self._lock:
            self._live = [j for j in self._live if not j.join(0)]
        return ended

    def close(self, timeout: float | None = 10.0) -> bool:
        """Server shutdown: stop the sweeper and every job; True if all jobs ended in time."""
        self._closed.set()
        self._archive_ended()  # a run that ended since the last sweep outlives the restart too
        return self.stop_all(timeout)

    # --- abandonment and expiry ----------------------------------------------------------------

    def sweep(self) -> list[str]:
        """Stop abandoned runs and drop expired ones now; the run ids dropped. (The thread calls this.)"""
        return self._sweep()

    def _sweep(self) -> list[str]:
        self._archive_ended()
        now = self._clock()
        abandon_s, keep_s, max_run_s = self.abandon_s, self.keep_s, self.max_run_s
        to_stop: list[JobHandle] = []
        too_long: list[JobHandle] = []
        dropped: list[str] = []
        trim = False
        with self._lock:
            for run_id, entry in list(self._entries.items()):
                job = entry.job
                if job.is_active:
                    if now - entry.started > max_run_s and not entry.limited:
                        entry.limited = True
                        too_long.append(job)
                    elif now - entry.last_seen > abandon_s and not entry.abandoned and not entry.limited:
                        entry.abandoned = True
                        to_stop.append(job)
                    continue
                ended = job.ended_at if job.ended_at is not None else entry.last_seen
                if now - max(ended, entry.last_seen) > keep_s:
                    del self._entries[run_id]
                    dropped.append(run_id)
                    trim = True
                elif not entry.trimmed and job.join(0):
                    entry.trimmed = trim = True  # the thread and its data are gone: give the pages back
            self._live = [j for j in self._live if not j.join(0)]
            # A run expired and none is left running: the data caches only jobs read go too.
            idle = bool(dropped) and not self._live and not any(e.job.is_active for e in self._entries.values())
        for job in to_stop:
            log.info("stopping job %s: no tab has polled it for %.0f s", job.job_id, abandon_s)
            job.stop()
        for job in too_long:
            log.info("stopping job %s: it reached this server's limit of %.0f s per run", job.job_id, max_run_s)
            job.stop(limit_message(max_run_s))
        if idle:
            forget_idle_caches()
        if trim:
            release_memory()
        return dropped

    def _archive_ended(self) -> None:
        """Write every run that ended since the last look to the archive (each once, by one thread)."""
        if self._archive is None:
            return
        with self._lock:
            ended = [(run_id, e) for run_id, e in self._entries.items() if not e.archived and not e.job.is_active]
            for _, entry in ended:
                entry.archived = True
        for run_id, entry in ended:
            self._archive.save(run_id, entry.job)  # logs, never raises: the run stays in memory

    def _ensure_reaper(self) -> None:
        """Start the sweeping thread and the exit hook with the first job (not at import)."""
        if self._reap_every is None:
            return
        with self._lock:
            if self._reaper is not None:
                return
            self._reaper = threading.Thread(target=self._reap, name="runs-sweeper", daemon=True)
            self._reaper.start()
            # Python exits with our threads still inside torch otherwise, and the C++ runtime aborts
            # ("terminate called without an active exception", exit 134; issue #10). atexit runs
            # after Streamlit's SIGTERM/SIGINT handler has stopped the server and its loop returned.
            atexit.register(_shutdown, self)

    def _reap(self) -> None:
        assert self._reap_every is not None
        while not self._closed.wait(self._reap_every):
            try:
                self._sweep()
            except Exception:  # noqa: BLE001 - the sweeper must outlive a bad setting; say so
                log.exception("the sweep of the server's runs failed")


def limit_message(max_run_s: float) -> str:
    """A run's state message after the limit stopped it: "stopped after 15 min, this server's limit per run"."""
    minutes = max_run_s / 60
    length = f"{minutes:.0f} min" if max_run_s >= 60 and minutes == round(minutes) else format_duration(max_run_s)
    return f"stopped after {length}, this server's limit per run"


def _capped_eta(eta: float | None, left_by_limit: float) -> float | None:
    """A job's own time left, never past the moment the limit stops it (None while the job cannot tell)."""
    return None if eta is None else min(eta, left_by_limit)


def _eta(job: JobHandle) -> float | None:
    try:
        eta = job.snapshot().eta_s
    except Exception:  # noqa: BLE001 - a job that cannot report must not break the others
        log.exception("job %s could not report its time left", getattr(job, "job_id", "?"))
        return None
    return None if eta is None or math.isnan(eta) else float(eta)


#: Seconds the exit hook waits for running jobs: a trainer stops within one step (~0.1-1 s on a
#: CPU) and then evaluates at most 2,000 test images.
SHUTDOWN_TIMEOUT_S = 8.0


def _shutdown(runs: Runs) -> None:
    """At interpreter exit: stop every job and wait; exit at once if one will not end in time."""
    if runs.close(SHUTDOWN_TIMEOUT_S):
        return
    # A thread still inside a torch op when the interpreter finalises aborts the process; a job
    # that ignored its stop for this long is stuck, and the server was asked to exit.
    log.warning("a job did not stop within %.0f s; exiting without waiting for it", SHUTDOWN_TIMEOUT_S)
    logging.shutdown()
    os._exit(0)


#: The server's runs: the one process-wide instance (the one piece of mutable module state,
#: internally locked). Reach it as ``resnet_core.jobs.RUNS``.
RUNS = Runs(archive=Archive())
