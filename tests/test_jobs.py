"""Training jobs: lifecycle, stop, failure, snapshots (the registry: tests/test_registry.py).

Lifecycle tests train real (tiny) networks on synthetic data with the real Trainer; others use a
trainer that blocks until stopped, so "the job is running" is a fact, not a race.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from torch import nn

from resnet_core import jobs
from resnet_core.data import DataError, load_data, make_synthetic
from resnet_core.jobs import RunSpec, TrainingJob
from resnet_core.train import StepMetrics, TrainConfig, Trainer, TrainResult

TINY = dict(
    model="resnet9_w16", data="synthetic", subset=64, test_subset=32, batch_size=32,
    epochs=1.0, budget_s=None, log_every=1, grad_norm_every=1, device="cpu", precision="fp32",
)


def tiny(**changes: Any) -> TrainConfig:
    return dataclasses.replace(TrainConfig.for_device("cpu"), **{**TINY, **changes})


class BlockingTrainer:
    """Stands in for Trainer: reports a few steps, then waits for the stop event."""

    def __init__(self, config: TrainConfig, *, callback: Any = None, stop_event: threading.Event,
                 train_data: Any = None, test_data: Any = None, steps: int = 3) -> None:
        self.config, self.callback, self.stop_event = config, callback, stop_event
        self.steps = steps

    def run(self) -> TrainResult:
        for i in range(1, self.steps + 1):
            self.callback(StepMetrics(i, i / 10, 2.0 - i / 10, 0.1 * i, 0.1, 100.0, 0.01 * i))
        self.stop_event.wait(30)
        return TrainResult("stopped", "stopped by request", self.config, nn.Linear(1, 1), 0, 0.03, 100.0, None, None)


SMALL_DATA = dict(train_data=make_synthetic(8, seed=0), test_data=make_synthetic(8, split="test", seed=0))


def test_job_runs_plain_then_residual_to_finished_with_history() -> None:
    seen: list[tuple[bool, int, int]] = []

    def spy(config: TrainConfig, **kwargs: Any) -> Trainer:
        seen.append((config.residual, id(kwargs["train_data"]), id(kwargs["test_data"])))
        return Trainer(config, **kwargs)

    runs = jobs.comparison_runs(tiny())
    assert [r.label for r in runs] == ["plain resnet9_w16", "residual resnet9_w16"]
    job = TrainingJob(runs, trainer_factory=spy)
    assert job.state == "pending"
    job.start()
    assert job.state in ("running", "finished")
    assert job.join(timeout=60), "a 2-step job should finish in well under a minute"

    snap = job.snapshot()
    assert snap.state == "finished" and snap.done
    assert snap.progress == 1.0 and snap.eta_s == 0.0
    # Plain first, then the residual twin, both on the very same data objects.
    assert [s[0] for s in seen] == [False, True]
    assert seen[0][1:] == seen[1][1:]
    for run, residual in zip(snap.runs, (False, True)):
        assert run.status == "finished" and run.fraction == 1.0
        assert run.config.residual is residual
        assert [s.step for s in run.steps] == [1, 2]  # 64 images / batch 32, logged every step
        assert len(run.epochs) == 1 and 0.0 <= run.epochs[0].test_acc <= 1.0
        names, norms = run.grad_flow()
        assert names[0] == "prep.0" and names[-1] == "fc"  # input to output
        assert all(n > 0 for n in norms)
        assert run.result is not None and run.result.status == "finished"
        assert not run.result.model.training
    assert [r.config.residual for r in job.results()] == [False, True]


def test_stop_ends_a_running_job_promptly_and_skips_later_runs() -> None:
    job = TrainingJob(jobs.comparison_runs(tiny(epochs=None, budget_s=120, subset=512))).start()
    deadline = time.monotonic() + 60
    while not job.snapshot().runs[0].steps:  # wait until it is really training
        assert time.monotonic() < deadline, job.snapshot().message
        time.sleep(0.05)
    t0 = time.monotonic()
    job.stop()
    assert time.monotonic() - t0 < 0.1  # stop() only sets the event
    assert job.join(timeout=5), "stop should end the run within a step or two"
    snap = job.snapshot()
    assert snap.state == "stopped"
    assert snap.runs[0].status == "stopped"
    assert snap.runs[1].status == "stopped" and snap.runs[1].message.startswith("not started")
    assert snap.runs[1].result is None and not snap.runs[1].steps


def test_missing_cifar10_fails_with_the_data_error_verbatim(tmp_path) -> None:
    config = tiny(data="cifar10", data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as expected:
        load_data(config)
    job = TrainingJob([RunSpec("r", config)]).start()
    assert job.join(timeout=10)
    snap = job.snapshot()
    assert snap.state == "failed"
    assert snap.message == str(expected.value)
    assert snap.runs[0].status == "failed"


def test_unexpected_exception_fails_the_job_with_its_type_and_message() -> None:
    def broken(config: TrainConfig, **kwargs: Any) -> Any:
        raise RuntimeError("the GPU caught fire\nsecond line of noise")

    job = TrainingJob([RunSpec("r", tiny())], trainer_factory=broken, **SMALL_DATA).start()
    assert job.join(timeout=10)
    assert job.state == "failed"
    assert job.message == "RuntimeError: the GPU caught fire"


def test_diverged_run_is_reported_with_what_to_do() -> None:
    job = TrainingJob([RunSpec("hot", tiny(lr=1e12, optimizer="sgd", schedule="constant", subset=128))])
    job.start()
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state == "diverged"
    assert "hot diverged" in snap.message and "lower the learning rate" in snap.message
    assert snap.runs[0].status == "diverged"


def test_snapshot_is_a_consistent_copy() -> None:
    release = threading.Event()

    class Streaming(BlockingTrainer):
        def run(self) -> TrainResult:
            i = 0
            while not self.stop_event.is_set():
                i += 1
                self.callback(StepMetrics(i, i / 1000, 1.0, 0.5, 0.1, 100.0, i / 1000))
                if i == 200:
                    release.set()
            return TrainResult("stopped", "", self.config, nn.Linear(1, 1), 0, 1.0, 1.0, None, None)

    job = TrainingJob([RunSpec("r", tiny(epochs=1000.0))], trainer_factory=Streaming, **SMALL_DATA).start()
    try:
        assert release.wait(10)
        for _ in range(50):  # while the thread keeps appending
            snap = job.snapshot()
            steps = snap.runs[0].steps
            assert isinstance(steps, tuple)
            assert [s.step for s in steps] == list(range(1, len(steps) + 1))  # no gaps, no tearing
            frozen = len(steps)
            time.sleep(0.001)
            assert len(snap.runs[0].steps) == frozen  # later appends do not reach an old snapshot
            assert len(job.snapshot().runs[0].steps) >= frozen
    finally:
        job.stop()
        assert job.join(timeout=5)


def test_progress_and_eta_from_a_time_budget() -> None:
    job = TrainingJob(jobs.comparison_runs(tiny(epochs=None, budget_s=100.0)), trainer_factory=BlockingTrainer,
                      **SMALL_DATA).start()
    try:
        deadline = time.monotonic() + 5
        while len(job.snapshot().runs[0].steps) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        snap = job.snapshot()
        # BlockingTrainer's third step says 0.03 s of 100 s done, and a second 100 s run follows.
        assert snap.runs[0].fraction == pytest.approx(0.0003)
        assert snap.eta_s == pytest.approx(100 - 0.03 + 100)
        assert snap.progress == pytest.approx(0.00015)
        assert snap.images_per_s == 100.0
    finally:
        job.stop()
        job.join(timeout=5)


def test_helpers() -> None:
    assert jobs.format_duration(None) == "estimating..."
    assert jobs.format_duration(42.4) == "42 s"
    assert jobs.format_duration(65) == "1 min 05 s"

    def result(acc: float | None) -> TrainResult:
        return TrainResult("finished", "", tiny(), nn.Linear(1, 1), 1, 1.0, 1.0, acc, None)

    assert jobs.leader(result(0.50), result(0.60)) == "second"
    assert jobs.leader(result(0.60), result(0.50)) == "first"
    assert jobs.leader(result(0.60), result(0.59)) == "tie"
    assert jobs.leader(result(0.10), result(0.13)) == "neither"  # both near 10% chance
    assert jobs.leader(result(None), result(0.6)) == "unknown"
    depth = jobs.depth_runs(tiny(residual=False), "resnet20", "resnet56")
    assert [(r.label, r.config.model, r.config.residual) for r in depth] == [
        ("plain resnet20", "resnet20", False), ("plain resnet56", "resnet56", False)]
    with pytest.raises(ValueError, match="at least one run"):
        TrainingJob([])
