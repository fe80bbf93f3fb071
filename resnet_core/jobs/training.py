"""One network trained on a background thread: the Train page's "One network" mode."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from resnet_core.data import ImageDataset
from resnet_core.jobs.dataset_job import DatasetJob
from resnet_core.jobs.ended import restore_ended
from resnet_core.jobs.job import TERMINAL_STATES, JobSnapshot, JobState, eta_from_progress
from resnet_core.jobs.plaindata import from_plain, to_plain
from resnet_core.train import EpochMetrics, GradNorms, Metrics, StepMetrics, TrainConfig, Trainer, TrainResult

__all__ = ["TrainingJob", "TrainingSnapshot", "mean_grad_norms"]


@dataclass(frozen=True)
class TrainingSnapshot(JobSnapshot):
    """A consistent copy of a training job, for display."""

    label: str
    config: TrainConfig
    steps: tuple[StepMetrics, ...]
    epochs: tuple[EpochMetrics, ...]
    grad_norms: tuple[GradNorms, ...]
    result: TrainResult | None
    progress: float  # 0..1, the trainer's own figure

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
        return mean_grad_norms([(g.names, g.norms) for g in self.grad_norms[-last:]])

    def to_json(self) -> dict[str, Any]:
        """Plain data for JSON: everything but the trained network (the archive saves its weights)."""
        result = None if self.result is None else to_plain(self.result, exclude=("model",))
        return {**to_plain(self, exclude=("result",)), "result": result}  # type: ignore[dict-item]

    @classmethod
    def from_json(cls, data: dict[str, Any], model: nn.Module | None = None) -> "TrainingSnapshot":
        """The snapshot :meth:`to_json` wrote, with ``model`` as its result's network; ValueError if malformed."""
        raw = data.get("result") if isinstance(data, dict) else None
        if raw is not None and model is None:
            raise ValueError("a training record with a result needs its trained network")
        result = None if raw is None else from_plain(TrainResult, raw, model=model)
        return from_plain(cls, data, result=result)


def mean_grad_norms(
    records: list[tuple[tuple[str, ...], tuple[float, ...]]],
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """(layer names, mean norm per layer) over the records that name the latest record's layers."""
    if not records or not records[-1][0]:
        return (), ()
    names = records[-1][0]
    same = [norms for n, norms in records if n == names]
    return names, tuple(sum(r[i] for r in same) / len(same) for i in range(len(names)))


class TrainingJob(DatasetJob[TrainResult, Metrics]):
    """One :class:`~resnet_core.train.Trainer` run on a background thread."""

    config: TrainConfig

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
        super().__init__(config, trainer_factory, train_data=train_data, test_data=test_data, session_id=session_id,
                         clock=clock)
        self.label = label or f"{'residual' if config.residual else 'plain'} {config.model}"

    @classmethod
    def restored(cls, snap: TrainingSnapshot, *, clock: Callable[[], float] = time.monotonic) -> "TrainingJob":
        """An ended job whose ``snapshot()`` shows ``snap`` again (an archived run); it never runs."""
        job = cls(snap.config, label=snap.label, clock=clock)
        restore_ended(job, snap, [*snap.steps, *snap.epochs, *snap.grad_norms], snap.result)
        return job

    def _work(self) -> TrainResult:
        return self._run_worker()

    def _final_state(self, result: TrainResult) -> tuple[JobState, str]:
        return result.status, result.message

    def snapshot(self) -> TrainingSnapshot:
        """Copy the whole state under the lock: the caller may read it at leisure."""
        state, message, records, result, elapsed = self._copy()
        steps = tuple(r for r in records if isinstance(r, StepMetrics))
        progress = 1.0 if state in TERMINAL_STATES else (steps[-1].progress if steps else 0.0)
        eta = 0.0 if state in TERMINAL_STATES else eta_from_progress(elapsed, progress)
        return TrainingSnapshot(
            job_id=self.job_id, label=self.label, config=self.config, state=state, message=message,
            steps=steps,
            epochs=tuple(r for r in records if isinstance(r, EpochMetrics)),
            grad_norms=tuple(r for r in records if isinstance(r, GradNorms)),
            result=result, progress=progress, elapsed_s=elapsed, eta_s=eta,
        )  # fmt: skip
