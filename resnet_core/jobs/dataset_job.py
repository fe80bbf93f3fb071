"""The base of the jobs whose worker trains on datasets: a training's trainer, a race's race.

:class:`~resnet_core.jobs.training.TrainingJob` and :class:`~resnet_core.jobs.race.RaceJob` build
their worker the same way, from a config and the datasets the page may hand over, and both let go
of those datasets when the run ends.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Protocol, TypeVar

from resnet_core.jobs.job import Job

__all__ = ["DatasetJob"]

R = TypeVar("R")
M = TypeVar("M")
R_co = TypeVar("R_co", covariant=True)


class Worker(Protocol[R_co]):
    """A trainer or a race: built with the job's callback and stop event, then run once."""

    def run(self) -> R_co: ...


class DatasetJob(Job[R, M]):
    """A job running ``worker_factory(config, ...)`` on ``train_data``/``test_data`` (None: the worker loads them)."""

    def __init__(
        self,
        config: Any,
        worker_factory: Callable[..., Worker[R]],
        *,
        train_data: Any = None,
        test_data: Any = None,
        session_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(session_id=session_id, clock=clock)
        self.config = config
        self._train_data, self._test_data = train_data, test_data
        self._worker_factory = worker_factory

    def _run_worker(self) -> R:
        worker = self._worker_factory(
            self.config, callback=self._record, stop_event=self._stop,
            train_data=self._train_data, test_data=self._test_data,
        )  # fmt: skip
        try:
            return worker.run()
        finally:
            self._train_data = self._test_data = None  # 180 MB for CIFAR-10: let it go with the run
