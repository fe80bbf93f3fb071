"""What every loop object is given: a config, a callback for its reports, a stop event, data, a clock.

:class:`~resnet_core.train.Trainer` and :class:`~resnet_core.race.Race` take the same keyword
arguments and report the same way; this is that part, once.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Generic, TypeVar

from resnet_core.data import ImageDataset

ConfigT = TypeVar("ConfigT")
RecordT = TypeVar("RecordT")

__all__ = ["Runner"]


class Runner(Generic[ConfigT, RecordT]):
    """A loop over ``config`` that reports ``RecordT`` records through ``callback``.

    ``train_data``/``test_data`` override what the loop would load. ``stop_event`` is checked
    between steps. ``clock`` (seconds) is injectable so tests need no real time.
    """

    def __init__(
        self,
        config: ConfigT,
        *,
        callback: Callable[[RecordT], None] | None = None,
        stop_event: threading.Event | None = None,
        train_data: ImageDataset | None = None,
        test_data: ImageDataset | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        self.callback = callback
        self.stop_event = stop_event or threading.Event()
        self.train_data = train_data
        self.test_data = test_data
        self.clock = clock

    def _emit(self, record: RecordT) -> None:
        """Report a record to the callback: the caller keeps the history (a job, the CLI)."""
        if self.callback is not None:
            self.callback(record)
