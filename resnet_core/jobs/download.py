"""Downloading CIFAR-10 on a background thread, under the server's slot (issue #19, item 5).

170 MB take minutes on a small server, and a page thread that waits for them holds a visitor's
session and a core for all that time, where anyone could start it. As a job among
:data:`resnet_core.jobs.RUNS` the download takes the one slot (no training competes with it for
the network and the disk), has one run id for the whole server (:data:`DOWNLOAD_RUN_ID`: a second
visitor watches the same download instead of starting another), and the Train page polls it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

from resnet_core.jobs.job import TERMINAL_STATES, Job, JobSnapshot, JobState

__all__ = ["DOWNLOAD_RUN_ID", "DownloadJob", "DownloadSnapshot"]

#: The run id of this server's CIFAR-10 download: one per server, whoever asked for it.
DOWNLOAD_RUN_ID = uuid.uuid5(uuid.NAMESPACE_URL, "resnet_core/jobs/download/cifar10").hex


@dataclass(frozen=True)
class DownloadSnapshot(JobSnapshot):
    """A consistent copy of the download's state, for display.

    ``eta_s`` is None until the download ends, then 0: torchvision reports no progress.
    """

    folder: Path | None  # the cifar-10-batches-py folder, once finished

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES


def _download_cifar10() -> Path:
    from resnet_core.data import download_cifar10  # loads torch: only on the job's thread

    return download_cifar10(progress=False)


class DownloadJob(Job[Path, str]):
    """:func:`resnet_core.data.download_cifar10` on a background thread.

    torchvision downloads and extracts in one call with no way to interrupt it, so ``stop()``
    (a visitor's, abandonment's or the limit's) lets the call finish; the job then says it was
    asked to stop. ``download`` stands in for the real one in tests.
    """

    STARTING_MESSAGE: ClassVar[str] = "downloading CIFAR-10 (170 MB)"

    def __init__(self, *, download: Callable[[], Path] | None = None, session_id: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(session_id=session_id, clock=clock)
        self._download = download

    def _work(self) -> Path:
        return (self._download or _download_cifar10)()

    def _final_state(self, result: Path) -> tuple[JobState, str]:
        return "finished", "CIFAR-10 downloaded"

    def snapshot(self) -> DownloadSnapshot:
        """Copy the whole state under the lock."""
        state, message, _, result, elapsed = self._copy()
        return DownloadSnapshot(job_id=self.job_id, state=state, message=message, folder=result,
                                elapsed_s=elapsed, eta_s=0.0 if state in TERMINAL_STATES else None)
