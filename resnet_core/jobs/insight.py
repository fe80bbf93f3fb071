"""Why it works's heavy experiments on a background thread, under the server's slot (issue #19).

The light settings (the quick scale, a few hundred images: 0.5-3 s each on 2 cores,
bench/RESULTS.md "Why it works", page actions) stay in the page, cached. The paper scale costs
about 8x a quick pass (15-25 s for the default depths on 2 cores, same entry) and a lesion study
over 1,000 or 2,000 images about 10-20 s: minutes on a Community Cloud share of a core. Those run
as an :class:`InsightJob` among :data:`resnet_core.jobs.RUNS`, so they wait for the slot like a
training, stop when no tab watches them or at the limit per run, and never block a page thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

from resnet_core.jobs.job import TERMINAL_STATES, Job, JobSnapshot, JobState, eta_from_progress

__all__ = ["HEAVY_IMAGES", "InsightJob", "InsightSnapshot", "InsightStopped", "is_heavy"]

#: Test images from which a lesion study is heavy: 250 take ~2.7 s on 2 cores, and the cost grows
#: with the images (bench/RESULTS.md, "Why it works").
HEAVY_IMAGES = 500


def is_heavy(name: str, *, scale: str = "quick", images: int = 0) -> bool:
    """True for the experiments that run as a job: fresh nets at the paper scale, big lesion studies."""
    if name in ("gradient-flow", "shattered"):
        return scale != "quick"
    if name == "lesion":
        return images >= HEAVY_IMAGES
    return False  # layer responses and the loss slice run at one fixed, light setting


class InsightStopped(Exception):
    """Raised inside the experiment (through its progress callback) when the job was asked to stop."""


@dataclass(frozen=True)
class InsightSnapshot(JobSnapshot):
    """A consistent copy of the job's state, for display."""

    key: Hashable  # what the page asked for: the page shows the result only for the same inputs
    done: int  # progress reports so far (one per network)
    total: int
    result: Any

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def fraction(self) -> float:
        return 1.0 if self.finished else (min(self.done / self.total, 1.0) if self.total else 0.0)


class InsightJob(Job[Any, str]):
    """``compute(progress)`` on a background thread; ``progress(text)`` reports one step and stops the run
    between steps once the job was asked to (the experiments call it before each network).

    ``key``: the inputs, so a page can tell whether this job answers what is on screen;
    ``steps``: how many progress reports a whole run makes (for the progress bar and the ETA).
    """

    STARTING_MESSAGE: ClassVar[str] = "preparing the networks"

    def __init__(self, key: Hashable, compute: Callable[[Callable[[str], None]], Any], *, steps: int = 0,
                 session_id: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(session_id=session_id, clock=clock)
        self.key, self.steps = key, steps
        self._compute = compute

    def _progress(self, text: str) -> None:
        if self._stop.is_set():
            raise InsightStopped
        self._record(text)

    def _work(self) -> Any:
        try:
            return self._compute(self._progress)
        except InsightStopped:
            return None

    def _final_state(self, result: Any) -> tuple[JobState, str]:
        if result is None:
            return "stopped", "stopped before it finished"
        return "finished", "done"

    def snapshot(self) -> InsightSnapshot:
        """Copy the whole state under the lock."""
        state, message, records, result, elapsed = self._copy()
        ended = state in TERMINAL_STATES
        # A report says which network is next: the ones before it are done.
        done = len(records) if ended else max(len(records) - 1, 0)
        progress = done / self.steps if self.steps else 0.0
        return InsightSnapshot(
            job_id=self.job_id, key=self.key, state=state,
            message=records[-1] if records and not ended else message, done=done, total=self.steps,
            result=result, elapsed_s=elapsed, eta_s=0.0 if ended else eta_from_progress(elapsed, progress),
        )  # fmt: skip
