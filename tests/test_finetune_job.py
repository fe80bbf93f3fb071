"""FinetuneJob among the server's runs: one set of states and one error text with the Train page's
jobs, the slot shared with trainings, abandonment, expiry and run ids (issue #20).

The fine-tuning itself is scripted (``finetune_fn``): it reports what ``finetune`` reports and
then waits for its stop event, so "running", "abandoned" and "expired" are facts on an injected
clock, not races. One test runs the real thing on the shipped backbone.
"""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest
from clocks import FakeClock
from pictures import shape_files
from torch import nn

from resnet_core.checkpoint import shipped_checkpoint
from resnet_core.data import make_synthetic
from resnet_core.finetune import (
    SHIPPED,
    EpochRecord,
    FinetuneConfig,
    FinetuneResult,
    FinetuneStopped,
    Progress,
    load_backbone,
)
from resnet_core.jobs import RUNS, FinetuneJob, Job, JobHandle, JobRefused, Runs, TrainingJob, new_run_id
from resnet_core.pretrained import WeightsUnavailableError
from resnet_core.train import StepMetrics, TrainConfig, TrainResult
from resnet_core.userdata import PictureSet, read_pictures


def fake_result(history: list[EpochRecord], stopped: bool) -> FinetuneResult:
    """What finetune() returns, with a stand-in model (nothing here classifies with it)."""
    return FinetuneResult(model=nn.Linear(2, 2), classes=("circle", "square"), backbone=None,  # type: ignore[arg-type]
                          config=FinetuneConfig(), train_images=4, val_images=2, val_acc=0.5,
                          confusion=((1, 0), (1, 0)), history=tuple(history), seconds=1.0, feature_seconds=0.1,
                          cached_features=0, stopped=stopped)


class Scripted:
    """Stands in for finetune(): features, ``epochs`` head epochs ``pace`` s apart, then waits.

    It returns when stopped (the model so far, ``stopped=True``) or when the test releases it.
    """

    def __init__(self, epochs: int = 3, pace: float = 2.0) -> None:
        self.epochs, self.pace = epochs, pace
        self.reported, self.release = threading.Event(), threading.Event()

    def __call__(self, pictures: PictureSet, backbone: Any, config: FinetuneConfig, *, on_progress: Any,
                 stop: threading.Event, cache: Any) -> FinetuneResult:
        on_progress(Progress("features", len(pictures), len(pictures), "Features: 4 of 4 pictures"))
        history: list[EpochRecord] = []
        for epoch in range(1, self.epochs + 1):
            history.append(EpochRecord("head", epoch, 1.0 / epoch, 0.5, 1.0, 0.5, seconds=self.pace * epoch))
            on_progress(Progress("head", epoch, config.total_epochs, f"Epoch {epoch} of {config.total_epochs}",
                                 history[-1]))
        self.reported.set()
        while not stop.wait(0.01) and not self.release.is_set():
            pass
        return fake_result(history, stopped=stop.is_set())


class BlockingTrainer:
    """Stands in for Trainer: one step, then waits for its stop event."""

    def __init__(self, config: TrainConfig, *, callback: Any, stop_event: threading.Event, **kwargs: Any) -> None:
        self.config, self.callback, self.stop_event = config, callback, stop_event

    def run(self) -> TrainResult:
        self.callback(StepMetrics(1, 0.1, 2.0, 0.1, 0.1, 100.0, 0.01, progress=0.5))
        self.stop_event.wait(30)
        return TrainResult("stopped", "stopped by request", self.config, nn.Linear(1, 1), 0, 0.03, 100.0, None, None)


@pytest.fixture(scope="module")
def pictures() -> PictureSet:
    return read_pictures(shape_files(per_class=2))


def finetune_job(pictures: PictureSet, script: Any, clock: FakeClock, epochs: int = 10) -> FinetuneJob:
    return FinetuneJob(pictures, lambda: "a backbone", FinetuneConfig(epochs=epochs), finetune_fn=script, clock=clock)


def training_job(clock: FakeClock) -> TrainingJob:
    return TrainingJob(TrainConfig(data="synthetic"), trainer_factory=BlockingTrainer, train_data=make_synthetic(8),
                       test_data=make_synthetic(8, split="test"), clock=clock)


def make_runs(clock: FakeClock, **kwargs: Any) -> Runs:
    return Runs(**{**dict(max_running=1, abandon_s=120.0, keep_s=900.0, clock=clock, reap_every=None), **kwargs})


def test_a_fine_tune_is_a_job_with_the_same_states(pictures: PictureSet) -> None:
    clock, script = FakeClock(), Scripted()
    job = finetune_job(pictures, script, clock)
    assert isinstance(job, Job) and isinstance(job, JobHandle)
    assert job.state == "pending" and job.snapshot().phase == "loading"
    job.start()
    assert script.reported.wait(10)
    snap = job.snapshot()
    assert (snap.state, snap.phase, snap.done, snap.total) == ("running", "head", 3, 10) and job.is_active
    assert snap.message == "Epoch 3 of 10" and [r.epoch for r in snap.history] == [1, 2, 3]
    clock.advance(7.0)
    script.release.set()
    assert job.join(10)
    snap = job.snapshot()
    assert (snap.state, snap.phase, snap.message) == ("finished", "finished", "held-out accuracy 50%")
    assert snap.finished and snap.fraction == 1.0 and snap.eta_s == 0.0 and snap.elapsed_s == 7.0
    assert snap.result is not None and not snap.result.stopped and job.ended_at == clock.now
    with pytest.raises(RuntimeError, match="already started"):
        job.start()


def test_time_left_comes_from_the_pace_of_the_epochs(pictures: PictureSet) -> None:
    script = Scripted(epochs=3, pace=2.0)  # 2 s an epoch, 3 of 10 done: 14 s left
    job = finetune_job(pictures, script, FakeClock()).start()
    try:
        assert script.reported.wait(10)
        assert job.snapshot().eta_s == 14.0
    finally:
        job.stop()
        job.join(10)
    one = Scripted(epochs=1)  # one epoch is no pace yet
    job = finetune_job(pictures, one, FakeClock()).start()
    assert one.reported.wait(10) and job.snapshot().eta_s is None
    job.stop()
    assert job.join(10)


def test_the_slot_is_shared_with_trainings_and_the_refusal_says_so(pictures: PictureSet) -> None:
    clock, script = FakeClock(), Scripted()
    runs = make_runs(clock)
    try:
        fine_tune = runs.start(run := new_run_id(), finetune_job(pictures, script, clock).start)
        assert script.reported.wait(10)
        with pytest.raises(JobRefused, match=r"about 14 s left.*trainings and fine-tunes together") as refused:
            runs.start(new_run_id(), lambda: pytest.fail("a refused start must not build its job"))
        assert refused.value.eta_s == 14.0
        assert runs.stop(run)
        assert fine_tune.join(10) and runs.availability().free
        training = runs.start(new_run_id(), training_job(clock).start)
        with pytest.raises(JobRefused, match="busy training a model"):
            runs.start(new_run_id(), finetune_job(pictures, Scripted(), clock).start)
        assert runs.running_count() == 1 and runs.get(run) is fine_tune and training.is_active
    finally:
        assert runs.close(timeout=30)


def test_an_abandoned_fine_tune_stops_and_keeps_its_model(pictures: PictureSet) -> None:
    clock, script = FakeClock(), Scripted()
    runs = make_runs(clock)
    run = new_run_id()
    job = runs.start(run, finetune_job(pictures, script, clock).start)
    assert script.reported.wait(10)
    clock.advance(60)
    runs.touch(run)  # the page's polling fragment
    clock.advance(61)
    runs.sweep()
    assert job.is_active and not runs.abandoned(run)  # 61 s since the last poll
    clock.advance(60)  # the tab was closed: nobody polls
    runs.sweep()
    assert job.join(10) and runs.abandoned(run)
    snap = job.snapshot()
    assert (snap.state, snap.message) == ("stopped", "stopped after 3 epochs")
    assert snap.result is not None and snap.result.stopped  # the model trained so far, for a later look
    assert runs.availability().free and runs.get(run) is job


def test_an_ended_fine_tune_frees_the_slot_expires_and_lets_its_pictures_go() -> None:
    clock, script = FakeClock(), Scripted()
    runs = make_runs(clock, keep_s=600.0)
    run = new_run_id()
    pictures = read_pictures(shape_files(per_class=2))
    held = weakref.ref(pictures)
    job = runs.start(run, finetune_job(pictures, script, clock).start)
    del pictures
    script.release.set()
    assert job.join(10) and job.state == "finished"
    gc.collect()
    assert held() is None, "the ended job still holds the pictures"
    training = runs.start(new_run_id(), training_job(clock).start)  # an ended fine-tune holds no slot
    training.stop()
    assert training.join(10)
    clock.advance(599)
    runs.touch(run)  # a look at the results: another 600 s
    clock.advance(599)
    assert run not in runs.sweep() and runs.get(run) is job
    clock.advance(2)
    assert run in runs.sweep()
    assert runs.get(run) is None and not runs.touch(run)


def test_a_reload_finds_the_fine_tune_by_its_run_id_and_cannot_replace_it_while_it_runs(pictures: PictureSet) -> None:
    clock, script = FakeClock(), Scripted()
    runs = make_runs(clock, max_running=2)
    run, other = new_run_id(), new_run_id()
    try:
        job = runs.start(run, finetune_job(pictures, script, clock).start)
        training = runs.start(other, training_job(clock).start)  # the same tab's Train page: its own run id
        assert runs.get(run) is job and runs.get(other) is training
        with pytest.raises(JobRefused, match="still training"):
            runs.start(run, lambda: pytest.fail("must not replace a running fine-tune"))
        script.release.set()
        assert job.join(10)
        again = runs.start(run, finetune_job(pictures, Scripted(), clock).start)  # Train again, same tab
        assert runs.get(run) is again is not job and runs.get(other) is training
    finally:
        assert runs.close(timeout=30)


def test_errors_read_as_every_jobs_do(pictures: PictureSet) -> None:
    def bug(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated crash\nsecond line")

    def missing_weights() -> Any:
        raise WeightsUnavailableError("The ImageNet weights are not here: run prefetch --weights resnet18")

    fine_tune = FinetuneJob(pictures, lambda: "a backbone", FinetuneConfig(), finetune_fn=bug).start()
    training = TrainingJob(TrainConfig(data="synthetic"), trainer_factory=bug).start()
    assert fine_tune.join(10) and training.join(10)
    assert fine_tune.snapshot().message == training.snapshot().message == "RuntimeError: simulated crash"
    assert fine_tune.state == training.state == "failed"
    weights = FinetuneJob(pictures, missing_weights, FinetuneConfig()).start()
    assert weights.join(10)
    assert (weights.state, weights.snapshot().message) == (
        "failed", "The ImageNet weights are not here: run prefetch --weights resnet18")


def test_stopped_before_the_first_epoch_is_stopped_with_no_model(pictures: PictureSet) -> None:
    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise FinetuneStopped("stopped while computing features")

    job = FinetuneJob(pictures, lambda: "a backbone", FinetuneConfig(), finetune_fn=stopped).start()
    assert job.join(10)
    snap = job.snapshot()
    assert (snap.state, snap.message, snap.result) == ("stopped", "stopped before the first epoch: no model", None)


@pytest.mark.skipif(shipped_checkpoint() is None, reason="the shipped CIFAR-10 checkpoint is not in this install")
def test_a_real_fine_tune_through_the_servers_runs(pictures: PictureSet) -> None:
    run = new_run_id()
    job = RUNS.start(run, FinetuneJob(pictures, lambda: load_backbone(SHIPPED), FinetuneConfig(epochs=3)).start)
    try:
        assert job.join(timeout=60)
        assert RUNS.get(run) is job  # what a reload finds
        snap = job.snapshot()
        assert snap.state == "finished" and [r.epoch for r in snap.history] == [1, 2, 3]
        assert snap.result is not None and snap.result.classes == ("circle", "square")
    finally:
        RUNS.forget(run)
