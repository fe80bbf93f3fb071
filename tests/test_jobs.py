"""Jobs: lifecycle, stop, failure, snapshots, progress (the server's runs: tests/test_runs.py).

Lifecycle tests train real (tiny) networks on synthetic data with the real Trainer and Race; the
registry tests use a worker that blocks until stopped, so "a job is running" is a fact, not a
race. Times come from injected clocks, never from sleeps.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest
from torch import nn

from resnet_core.lessons import DEGRADATION, QUICK
from resnet_core.jobs import job as job_module
from resnet_core.data import DataError, load_data, make_synthetic
from resnet_core.jobs import RaceJob, TrainingJob
from resnet_core.race import RaceStep
from resnet_core.train import StepMetrics, TrainConfig, TrainResult

TINY = dict(
    model="resnet9_w16", data="synthetic", subset=64, test_subset=32, batch_size=32,
    epochs=1.0, budget_s=None, log_every=1, grad_norm_every=1, device="cpu", precision="fp32",
)


def tiny(**changes: Any) -> TrainConfig:
    return dataclasses.replace(TrainConfig.for_device("cpu"), **{**TINY, **changes})


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class BlockingTrainer:
    """Stands in for Trainer: reports a few steps, then waits for the stop event."""

    def __init__(self, config: TrainConfig, *, callback: Any = None, stop_event: threading.Event,
                 train_data: Any = None, test_data: Any = None, steps: int = 3) -> None:
        self.config, self.callback, self.stop_event = config, callback, stop_event
        self.steps = steps
        self.reported = threading.Event()

    def run(self) -> TrainResult:
        for i in range(1, self.steps + 1):
            self.callback(StepMetrics(i, i / 10, 2.0 - i / 10, 0.1 * i, 0.1, 100.0, 0.01 * i, progress=i / 100))
        BlockingTrainer.last = self
        self.reported.set()
        self.stop_event.wait(30)
        return TrainResult("stopped", "stopped by request", self.config, nn.Linear(1, 1), 0, 0.03, 100.0, None, None)


SMALL_DATA = dict(train_data=make_synthetic(8, seed=0), test_data=make_synthetic(8, split="test", seed=0))


def wait_for_steps(job: TrainingJob, n: int) -> None:
    """Block (on events, with a generous timeout) until the job has reported ``n`` steps."""
    for _ in range(600):
        if len(job.snapshot().steps) >= n or job.snapshot().done:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"job never reported {n} steps: {job.snapshot().message}")


# --- a single network ---------------------------------------------------------------------------


def test_training_job_runs_to_finished_with_one_history() -> None:
    job = TrainingJob(tiny())
    assert job.state == "pending"
    job.start()
    assert job.join(timeout=60), "a 2-step job should finish in well under a minute"
    snap = job.snapshot()
    assert snap.state == "finished" and snap.done
    assert snap.progress == 1.0 and snap.eta_s == 0.0
    assert [s.step for s in snap.steps] == [1, 2]  # 64 images / batch 32, logged every step
    assert [s.progress for s in snap.steps] == [0.5, 1.0]  # the trainer's own progress, not re-derived
    assert len(snap.epochs) == 1
    names, norms = snap.grad_flow()
    assert names[0] == "prep.0" and names[-1] == "fc"  # input to output
    assert all(n > 0 for n in norms)
    assert snap.result is not None and snap.result.status == "finished" and not snap.result.model.training
    assert not hasattr(snap.result, "history")  # the job's records are the one history


def test_stop_ends_a_running_job_within_a_step() -> None:
    job = TrainingJob(tiny(epochs=None, budget_s=600, subset=512)).start()
    wait_for_steps(job, 1)
    job.stop()
    assert job.join(timeout=30)
    snap = job.snapshot()
    assert snap.state == "stopped" and snap.result is not None and snap.result.status == "stopped"


def test_missing_cifar10_fails_with_the_data_error_verbatim(tmp_path) -> None:
    config = tiny(data="cifar10", data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as expected:
        load_data(config)
    job = TrainingJob(config).start()
    assert job.join(timeout=10)
    snap = job.snapshot()
    assert snap.state == "failed"
    assert snap.message == str(expected.value)


def test_unexpected_exception_fails_the_job_with_its_type_and_message() -> None:
    def broken(config: TrainConfig, **kwargs: Any) -> Any:
        raise RuntimeError("the GPU caught fire\nsecond line of noise")

    job = TrainingJob(tiny(), trainer_factory=broken, **SMALL_DATA).start()
    assert job.join(timeout=10)
    assert job.state == "failed"
    assert job.snapshot().message == "RuntimeError: the GPU caught fire"


def test_diverged_run_is_reported_with_what_to_do() -> None:
    job = TrainingJob(tiny(lr=1e12, optimizer="sgd", schedule="constant", subset=128)).start()
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state == "diverged"
    assert "lower the learning rate" in snap.message


def test_eta_extrapolates_the_trainers_progress_on_the_jobs_clock() -> None:
    clock = FakeClock()
    job = TrainingJob(tiny(), trainer_factory=BlockingTrainer, clock=clock, **SMALL_DATA).start()
    try:
        wait_for_steps(job, 3)
        clock.now += 6.0  # 6 s of wall time for 3% of the run (the third step says progress 0.03)
        snap = job.snapshot()
        assert snap.progress == pytest.approx(0.03)
        assert snap.elapsed_s == pytest.approx(6.0)
        assert snap.eta_s == pytest.approx(6.0 / 0.03 * 0.97)
        assert snap.images_per_s == 100.0
    finally:
        job.stop()
        job.join(timeout=5)


def test_a_running_job_hands_free_memory_back_every_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker trims malloc's free pages as it reports, at most once per TRIM_EVERY_S of the job's clock."""
    trims: list[float] = []
    clock = FakeClock()
    monkeypatch.setattr(job_module, "trim_heap", lambda: trims.append(clock.now) or True)

    class Ticking(BlockingTrainer):
        def run(self) -> TrainResult:
            for i in range(1, 31):  # 30 steps, one second of the fake clock each
                clock.now += 1.0
                self.callback(StepMetrics(i, i / 10, 1.0, 0.5, 0.1, 100.0, i / 30))
            return TrainResult("finished", "", self.config, nn.Linear(1, 1), 30, 1.0, 1.0, None, None)

    job = TrainingJob(tiny(), trainer_factory=Ticking, clock=clock, **SMALL_DATA).start()
    assert job.join(timeout=10) and job.state == "finished"
    start = 1000.0
    assert trims == [start + t for t in (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)] and job_module.TRIM_EVERY_S == 5.0


def test_snapshot_is_a_consistent_copy() -> None:
    release = threading.Event()

    class Streaming(BlockingTrainer):
        def run(self) -> TrainResult:
            i = 0
            # Appends while the test takes snapshots; bounded, so snapshots stay cheap to copy.
            while not self.stop_event.is_set() and i < 20_000:
                i += 1
                self.callback(StepMetrics(i, i / 1000, 1.0, 0.5, 0.1, 100.0, i / 1000))
                if i == 200:
                    release.set()
            self.stop_event.wait(30)
            return TrainResult("stopped", "", self.config, nn.Linear(1, 1), 0, 1.0, 1.0, None, None)

    job = TrainingJob(tiny(epochs=1000.0), trainer_factory=Streaming, **SMALL_DATA).start()
    try:
        assert release.wait(10)
        for _ in range(50):  # while the thread keeps appending
            snap = job.snapshot()
            assert isinstance(snap.steps, tuple)
            assert [s.step for s in snap.steps] == list(range(1, len(snap.steps) + 1))  # no gaps, no tearing
            frozen = len(snap.steps)
            threading.Event().wait(0.001)
            assert len(snap.steps) == frozen  # later appends do not reach an old snapshot
            assert len(job.snapshot().steps) >= frozen
    finally:
        job.stop()
        assert job.join(timeout=5)


# --- a race -------------------------------------------------------------------------------------


def test_race_job_records_every_step_and_judges_at_the_end() -> None:
    config = dataclasses.replace(DEGRADATION.config("quick", data="synthetic", device="cpu", steps=6),
                                 train_subset=256, test_subset=64, resolution=8, eval_every=3, grad_norm_every=2)
    job = RaceJob(DEGRADATION, QUICK, config).start()
    assert job.join(timeout=120)
    snap = job.snapshot()
    assert snap.state == "finished", snap.message
    assert [s.step for s in snap.steps] == [1, 2, 3, 4, 5, 6]
    assert all(len(s.error) == 3 for s in snap.steps)
    assert [e.step for e in snap.evals] == [0, 3, 6]
    assert len(snap.grads) == 3
    names, norms = snap.grad_flow(1)  # plain-56: 55 convs and the fc layer
    assert len(names) == 56 and names[-1] == "fc" and all(n > 0 for n in norms)
    assert snap.verdict is not None and len(snap.verdict.findings) == 2
    assert snap.verdict.headline.startswith(("This run on synthetic shapes", "Too early"))
    assert [r.steps for r in snap.result.results] == [6, 6, 6]  # lockstep: equal steps


def test_race_pace_note_appears_when_the_machine_is_slow() -> None:
    clock = FakeClock()

    class SlowRace:
        def __init__(self, config: Any, *, callback: Any, stop_event: threading.Event, **_: Any) -> None:
            self.callback, self.stop_event = callback, stop_event

        def run(self) -> Any:
            for i in range(1, 21):
                n = 3
                self.callback(RaceStep(i, (1.0,) * n, (0.5,) * n, 0.1, i * 10.0 * QUICK.cpu_step_s, i / 500))
            self.stop_event.wait(30)
            raise RuntimeError("stopped")

    config = DEGRADATION.config("quick", data="synthetic")
    job = RaceJob(DEGRADATION, QUICK, config, race_factory=SlowRace, clock=clock).start()
    try:
        for _ in range(200):
            if len(job.snapshot().steps) == 20:
                break
            threading.Event().wait(0.02)
        note = job.snapshot().pace_note
        assert note is not None and "10.0x slower" in note
    finally:
        job.stop()
        job.join(timeout=5)
