"""Fine-tuning off the caller's thread: a small job object the Fine-tune page polls (issue #9).

The same shape as :class:`resnet_core.jobs.TrainingJob`, for one short run: a thread, a stop
event, a lock, and :meth:`FinetuneJob.snapshot`, a frozen copy taken under the lock so a reader
never sees a half-written history. The backbone is loaded on the job's thread (an ImageNet
ResNet-50 takes a moment), so starting never blocks the page.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Literal

from resnet_core.checkpoint import CheckpointError
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
from resnet_core.images import ImageError
from resnet_core.pretrained import WeightsUnavailableError
from resnet_core.userdata import DatasetError, PictureSet

__all__ = ["FinetuneJob", "FinetuneSnapshot"]

log = logging.getLogger(__name__)

JobState = Literal["pending", "running", "finished", "stopped", "failed"]
TERMINAL: frozenset[str] = frozenset({"finished", "stopped", "failed"})
#: Errors whose messages are written for people; anything else is a bug and is logged in full.
_EXPECTED = (DatasetError, ImageError, WeightsUnavailableError, CheckpointError, ValueError)


@dataclass(frozen=True)
class FinetuneSnapshot:
    """A consistent copy of the job's state for display."""

    state: JobState
    message: str
    phase: str  # "loading", "features", "head", "last-stage" or the final state
    done: int  # pictures or epochs finished in this phase
    total: int
    history: tuple[EpochRecord, ...]
    result: FinetuneResult | None  # set once finished or stopped with a model
    elapsed_s: float

    @property
    def finished(self) -> bool:
        """True once the job will do no more work."""
        return self.state in TERMINAL

    @property
    def fraction(self) -> float:
        """0..1 of the current phase."""
        return 1.0 if self.finished else (self.done / self.total if self.total else 0.0)


class FinetuneJob:
    """One fine-tuning run on a background thread: ``start()``, poll ``snapshot()``, ``stop()``."""

    def __init__(
        self,
        pictures: PictureSet,
        load_backbone: Callable[[], Backbone],
        config: FinetuneConfig,
        *,
        cache: FeatureCache | None = None,
    ) -> None:
        self.job_id = uuid.uuid4().hex[:12]
        self._pictures = pictures
        self._load_backbone = load_backbone
        self.config = config
        self._cache = cache
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"finetune-job-{self.job_id}", daemon=True)
        self._state: JobState = "pending"
        self._message = "waiting to start"
        self._phase = "loading"
        self._done = 0
        self._total = 0
        self._history: list[EpochRecord] = []
        self._result: FinetuneResult | None = None
        self._started = 0.0
        self._ended: float | None = None

    def start(self) -> FinetuneJob:
        with self._lock:
            if self._state != "pending":
                raise RuntimeError("this fine-tuning job was already started")
            self._state, self._message, self._started = "running", "loading the backbone", time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end after the current batch; returns at once."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True if it has ended (or never started)."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def snapshot(self) -> FinetuneSnapshot:
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            return FinetuneSnapshot(
                state=self._state,
                message=self._message,
                phase=self._phase,
                done=self._done,
                total=self._total,
                history=tuple(self._history),
                result=self._result,
                elapsed_s=(end - self._started) if self._started else 0.0,
            )

    def _progress(self, p: Progress) -> None:
        with self._lock:
            self._phase, self._done, self._total, self._message = p.phase, p.done, p.total, p.message
            if p.epoch is not None:
                self._history.append(p.epoch)

    def _finish(self, state: JobState, message: str, result: FinetuneResult | None = None) -> None:
        with self._lock:
            self._state, self._message, self._phase, self._result = state, message, state, result
            self._ended = time.monotonic()

    def _main(self) -> None:
        try:
            backbone = self._load_backbone()
            result = finetune(self._pictures, backbone, self.config, on_progress=self._progress,
                              stop=self._stop, cache=self._cache)
        except FinetuneStopped:
            self._finish("stopped", "stopped before the first epoch: no model")
        except _EXPECTED as exc:
            self._finish("failed", str(exc))
        except Exception as exc:  # a bug: keep the traceback in the log, tell the user something
            log.exception("fine-tuning failed")
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            self._finish("failed", f"{type(exc).__name__}: {first}")
        else:
            if result.stopped:
                self._finish("stopped", f"stopped after {len(result.history)} epochs", result)
            else:
                self._finish("finished", f"held-out accuracy {result.val_acc:.0%}", result)
