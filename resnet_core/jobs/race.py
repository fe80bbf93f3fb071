"""A race on a background thread: plain and residual networks in lockstep (the Train page's races)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from torch import nn

from resnet_core.data import ImageDataset
from resnet_core.lessons import Experiment, Scale
from resnet_core.verdict import Verdict, data_words, pace_note, verdict
from resnet_core.jobs.dataset_job import DatasetJob
from resnet_core.jobs.ended import restore_ended
from resnet_core.jobs.job import TERMINAL_STATES, JobSnapshot, JobState, eta_from_progress
from resnet_core.jobs.plaindata import from_plain, to_plain
from resnet_core.jobs.training import mean_grad_norms
from resnet_core.race import Race, RaceConfig, RaceEval, RaceGrads, RaceMetrics, RaceResult, RaceStep

__all__ = ["RaceJob", "RaceSnapshot"]


@dataclass(frozen=True)
class RaceSnapshot(JobSnapshot):
    """A consistent copy of a race job, for display."""

    experiment: Experiment
    scale: Scale
    config: RaceConfig
    steps: tuple[RaceStep, ...]
    evals: tuple[RaceEval, ...]
    grads: tuple[RaceGrads, ...]
    result: RaceResult | None
    verdict: Verdict | None  # once the race has ended
    progress: float
    pace_note: str | None  # set when this machine runs the race far slower than expected

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.config.contenders)

    def grad_flow(self, index: int, last: int = 10) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """Mean gradient norm per weighted layer of contender ``index`` over its latest records."""
        return mean_grad_norms([(g.names[index], g.norms[index]) for g in self.grads[-last:]])

    def to_json(self) -> dict[str, Any]:
        """Plain data for JSON: everything but the trained networks (the archive saves their weights)."""
        result = None if self.result is None else to_plain(self.result, exclude=("models",))
        return {**to_plain(self, exclude=("result",)), "result": result}  # type: ignore[dict-item]

    @classmethod
    def from_json(cls, data: dict[str, Any], models: Sequence[nn.Module] = ()) -> "RaceSnapshot":
        """The snapshot :meth:`to_json` wrote, with ``models`` as its result's networks; ValueError if malformed."""
        raw = data.get("result") if isinstance(data, dict) else None
        result = None if raw is None else from_plain(RaceResult, raw, models=tuple(models))
        return from_plain(cls, data, result=result)


class RaceJob(DatasetJob[RaceResult, RaceMetrics]):
    """One :class:`~resnet_core.race.Race` of an :class:`~resnet_core.lessons.Experiment` on a thread."""

    config: RaceConfig

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
        super().__init__(config, race_factory, train_data=train_data, test_data=test_data, session_id=session_id,
                         clock=clock)
        self.experiment, self.scale = experiment, scale
        self._verdict: Verdict | None = None

    @classmethod
    def restored(cls, snap: RaceSnapshot, *, clock: Callable[[], float] = time.monotonic) -> "RaceJob":
        """An ended job whose ``snapshot()`` shows ``snap`` again (an archived race); it never runs."""
        job = cls(snap.experiment, snap.scale, snap.config, clock=clock)
        job._verdict = snap.verdict
        restore_ended(job, snap, [*snap.steps, *snap.evals, *snap.grads], snap.result)
        return job

    def _work(self) -> RaceResult:
        result = self._run_worker()
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
            eta_s=0.0 if done else eta_from_progress(elapsed, progress), pace_note=note,
        )  # fmt: skip
