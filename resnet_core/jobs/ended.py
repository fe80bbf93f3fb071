"""An ended job rebuilt from its record: what the archive of finished runs hands back to the pages."""

from __future__ import annotations

from typing import Any, Sequence

from resnet_core.jobs.job import TERMINAL_STATES, Job, JobSnapshot

__all__ = ["restore_ended"]


def restore_ended(job: Job[Any, Any], snap: JobSnapshot, records: Sequence[Any], result: Any) -> None:
    """Make a never-started ``job`` the ended job ``snap`` shows (its id, state, message and time), with these records.

    Its thread never starts: ``is_active`` is False, ``join`` returns at once and ``start`` refuses.
    It ends now on the job's clock, so the server's runs keep it ``keep_s`` like any ended job.
    """
    if snap.state not in TERMINAL_STATES:
        raise ValueError(f"only an ended job can be restored, got state {snap.state!r}")
    with job._lock:
        if job._state != "pending":
            raise RuntimeError(f"job {job.job_id} was already started")
        now = job.clock()
        job.job_id = snap.job_id
        job._state, job._message, job._records, job._result = snap.state, snap.message, list(records), result
        job._started_at, job._ended_at = now - snap.elapsed_s, now
