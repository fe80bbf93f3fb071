"""Fine-tuning on a background thread: the job the Fine-tune page starts among the server's runs.

A :class:`~resnet_core.jobs.job.Job` like the Train page's, so it has the same states, the same
error text, and a place in :data:`resnet_core.jobs.RUNS`: it counts against ``$RESNET_MAX_JOBS``,
stops when no tab polls it, comes back on a reload through its run id, expires, and is stopped
at shutdown (issues #9, #20). The backbone is loaded on the job's thread (an ImageNet ResNet-50
takes a moment), so starting never blocks the page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, ClassVar

from resnet_core.finetune import (
    Backbone,
    EpochRecord,
    FeatureCache,
    FinetuneConfig,
    FinetuneResult,
    FinetuneStopped,
    Progress,
    finetune,
)
from resnet_core.jobs.job import TERMINAL_STATES, Job, JobSnapshot, JobState
from resnet_core.pretrained import WeightsUnavailableError
from resnet_core.userdata import PictureSet

__all__ = ["FinetuneJob", "FinetuneSnapshot"]


@dataclass(frozen=True)
class FinetuneSnapshot(JobSnapshot):
    """A consistent copy of the job's state for display.

    ``eta_s`` goes at the pace of this phase's epochs: None before the first two.
    """

    phase: str  # "loading", "features", "head", "last-stage" or the final state
    done: int  # pictures or epochs finished in this phase
    total: int
    history: tuple[EpochRecord, ...]
    result: FinetuneResult | None  # set once finished or stopped with a model

    @property
    def finished(self) -> bool:
        """True once the job will do no more work."""
        return self.state in TERMINAL_STATES

    @property
    def fraction(self) -> float:
        """0..1 of the current phase."""
        return 1.0 if self.finished else (self.done / self.total if self.total else 0.0)


class FinetuneJob(Job[FinetuneResult | None, Progress]):
    """One :func:`~resnet_core.finetune.finetune` run on a background thread.

    ``load_backbone`` runs on the thread. ``finetune_fn`` stands in for
    :func:`~resnet_core.finetune.finetune` in tests; ``clock`` as for every job.
    """

    STARTING_MESSAGE: ClassVar[str] = "loading the backbone"
    # Missing ImageNet weights say how to get them; the data, picture and checkpoint errors are ValueErrors.
    READABLE_ERRORS: ClassVar[tuple[type[BaseException], ...]] = (ValueError, WeightsUnavailableError)

    def __init__(
        self,
        pictures: PictureSet,
        load_backbone: Callable[[], Backbone],
        config: FinetuneConfig,
        *,
        cache: FeatureCache | None = None,
        session_id: str | None = None,
        finetune_fn: Callable[..., FinetuneResult] = finetune,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(session_id=session_id, clock=clock)
        self.config = config
        self._pictures: PictureSet | None = pictures
        self._load_backbone = load_backbone
        self._cache = cache
        self._finetune = finetune_fn

    def _work(self) -> FinetuneResult | None:
        assert self._pictures is not None  # set until the run ends; a job runs once
        try:
            backbone = self._load_backbone()
            return self._finetune(self._pictures, backbone, self.config, on_progress=self._record,
                                  stop=self._stop, cache=self._cache)
        except FinetuneStopped:
            return None  # stopped before a model existed
        finally:
            # Up to a few hundred MB of pictures: the session keeps its own copy while it lives,
            # and a result kept for RESNET_KEEP_S after a closed tab should not hold them too.
            self._pictures = self._cache = None

    def _final_state(self, result: FinetuneResult | None) -> tuple[JobState, str]:
        if result is None:
            return "stopped", "stopped before the first epoch: no model"
        if result.stopped:
            return "stopped", f"stopped after {len(result.history)} epochs"
        return "finished", f"held-out accuracy {result.val_acc:.0%}"

    def snapshot(self) -> FinetuneSnapshot:
        """Copy the whole state under the lock: the caller may read it at leisure."""
        state, message, records, result, elapsed = self._copy()
        ended = state in TERMINAL_STATES
        last = records[-1] if records else None
        history = tuple(r.epoch for r in records if r.epoch is not None)
        return FinetuneSnapshot(
            job_id=self.job_id, state=state,
            message=last.message if last is not None and not ended else message,
            phase=state if ended else (last.phase if last is not None else "loading"),
            done=last.done if last is not None else 0, total=last.total if last is not None else 0,
            history=history, result=result, elapsed_s=elapsed,
            eta_s=0.0 if ended else _eta(history, last.total if last is not None else 0),
        )  # fmt: skip


def _eta(history: tuple[EpochRecord, ...], total_epochs: int) -> float | None:
    """Seconds left at the pace of the current phase's epochs; None until two of them have ended.

    Before the first epochs there is nothing to time by: the features' pace says nothing of the
    epochs', nor the head's of the last stage's.
    """
    phase = [r for r in history if r.phase == history[-1].phase] if history else []
    if len(phase) < 2:
        return None
    per_epoch = (phase[-1].seconds - phase[0].seconds) / (len(phase) - 1)
    return per_epoch * max(total_epochs - history[-1].epoch, 0)
