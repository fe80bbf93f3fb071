"""A clock the test moves by hand, for the jobs and runs that take an injected ``clock``."""

from __future__ import annotations


class FakeClock:
    """Seconds that pass only when the test calls :meth:`advance`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
