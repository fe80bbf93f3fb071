"""Stand-ins for the workers a job runs, for tests that need a run to hold the slot."""

from __future__ import annotations

import threading
from typing import Any

from torch import nn

from resnet_core.train import StepMetrics, TrainConfig, TrainResult


def blocking_trainer(release: threading.Event) -> type:
    """A ``trainer_factory`` whose run reports one step, then holds its slot until ``release`` is set."""

    class Blocking:
        def __init__(self, config: TrainConfig, *, callback: Any, **kwargs: Any) -> None:
            self.config, self.callback = config, callback

        def run(self) -> TrainResult:
            self.callback(StepMetrics(1, 0.1, 2.0, 0.1, 0.1, 100.0, 1.0, progress=0.5))
            release.wait(30)
            return TrainResult("finished", "", self.config, nn.Linear(1, 1), 1, 1.0, 1.0, 0.5, 1.0)

    return Blocking
