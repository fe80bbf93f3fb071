"""The Why it works job and the CIFAR-10 download through the server's runs (issue #19, item 5).

Both take the same slot as a training: while one runs, another visitor is refused with the busy
message; a run nobody watches stops (the experiment between two networks); the limit per run
stops them too. Fake experiments and downloads: threads that wait on events the test sets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from clocks import FakeClock

from resnet_core.jobs import (
    DOWNLOAD_RUN_ID,
    DownloadJob,
    InsightJob,
    JobRefused,
    Runs,
    is_heavy,
    new_run_id,
    valid_run_id,
)


def runs(clock: FakeClock) -> Runs:
    return Runs(max_running=1, abandon_s=120.0, keep_s=900.0, max_run_s=900.0, clock=clock, reap_every=None)


def stepper(nets: int, gate: threading.Event, reached: list[int]):
    """A fake experiment over ``nets`` networks: reports before each, waits on ``gate`` after the first."""
    def compute(progress) -> list[int]:
        out = []
        for i in range(nets):
            progress(f"network {i}")
            reached.append(i)
            if i == 0:
                gate.wait(10)
            out.append(i * i)
        return out
    return compute


def test_what_is_heavy() -> None:
    assert is_heavy("gradient-flow", scale="paper") and is_heavy("shattered", scale="paper")
    assert not is_heavy("gradient-flow", scale="quick") and not is_heavy("shattered")
    assert not is_heavy("lesion", images=250) and is_heavy("lesion", images=500) and is_heavy("lesion", images=2000)
    assert not is_heavy("responses") and not is_heavy("landscape")


@dataclass
class Insight:
    """A fake experiment over ``nets`` networks, started in a one-slot table; it waits for :meth:`finish`."""

    key: object
    nets: int
    clock: FakeClock = field(default_factory=FakeClock)
    gate: threading.Event = field(default_factory=threading.Event)
    reached: list[int] = field(default_factory=list)  # the networks the experiment has started

    def __post_init__(self) -> None:
        self.reg = runs(self.clock)
        self.run = new_run_id()
        self.job = self.reg.start(self.run, InsightJob(self.key, stepper(self.nets, self.gate, self.reached),
                                                       steps=self.nets).start)

    def finish(self) -> bool:
        """Let the experiment go on past its first network; True once its thread has ended."""
        self.gate.set()
        return self.job.join(10)


def test_an_insight_job_takes_the_slot_and_gives_its_result() -> None:
    insight = Insight(("gradient-flow", 3), nets=3)
    with pytest.raises(JobRefused, match="busy"):  # a training asks meanwhile: the one slot is taken
        insight.reg.start(new_run_id(), lambda: pytest.fail("must not start"))
    assert insight.finish()
    snap = insight.job.snapshot()
    assert snap.state == "finished" and snap.result == [0, 1, 4] and snap.key == ("gradient-flow", 3)
    assert snap.done == 3 and snap.fraction == 1.0
    assert insight.reg.availability().free


def test_an_abandoned_insight_job_stops_before_its_next_network() -> None:
    insight = Insight("k", nets=3)
    insight.clock.advance(121.0)  # no tab polled it
    insight.reg.sweep()
    assert insight.finish()
    assert insight.reg.abandoned(insight.run) and insight.job.state == "stopped" and insight.job.result is None
    assert insight.reached == [0]  # the second network was never started
    assert insight.reg.availability().free


def test_the_limit_per_run_stops_an_insight_job_and_says_why() -> None:
    insight = Insight("k", nets=2)
    insight.clock.advance(901.0)
    insight.reg.touch(insight.run)
    insight.reg.sweep()
    assert insight.finish()
    assert insight.job.snapshot().message == "stopped after 15 min, this server's limit per run"


def test_the_download_is_one_job_per_server_under_the_slot(tmp_path: Path) -> None:
    clock, gate = FakeClock(), threading.Event()
    reg = runs(clock)
    assert valid_run_id(DOWNLOAD_RUN_ID)

    def fake_download() -> Path:
        gate.wait(10)
        return tmp_path / "cifar-10-batches-py"

    job = reg.start(DOWNLOAD_RUN_ID, DownloadJob(download=fake_download).start)
    assert job.snapshot().message == "downloading CIFAR-10 (170 MB)" and not job.snapshot().done
    with pytest.raises(JobRefused, match="still"):  # a second visitor's click: the same download goes on
        reg.start(DOWNLOAD_RUN_ID, lambda: pytest.fail("must not start a second download"))
    with pytest.raises(JobRefused, match="busy"):  # and no training meanwhile
        reg.start(new_run_id(), lambda: pytest.fail("must not start"))
    gate.set()
    assert job.join(10)
    snap = job.snapshot()
    assert snap.state == "finished" and snap.folder == tmp_path / "cifar-10-batches-py" and snap.eta_s == 0.0
    assert reg.availability().free


def test_a_failed_download_says_what_to_do() -> None:
    from resnet_core.data import DataError

    def offline() -> Path:
        raise DataError("could not download CIFAR-10 (URLError): this machine may be offline")

    job = DownloadJob(download=offline).start()
    assert job.join(10)
    assert job.state == "failed" and "may be offline" in job.snapshot().message
