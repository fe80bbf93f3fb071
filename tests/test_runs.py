"""The server's runs (``resnet_core.jobs.RUNS``): run ids, the limit, reload, abandonment, expiry, shutdown.

Every timing here is a fake clock the test advances; the jobs are fakes that end when told, so
"running", "abandoned" and "expired" are facts, not races. One test drives a real TrainingJob.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from clocks import FakeClock

from resnet_core.jobs import runs as runs_module
from resnet_core.jobs import Availability, JobHandle, JobRefused, Runs, new_run_id, valid_run_id
from resnet_core.jobs.job import Job, JobState
from resnet_core.settings import ABANDON_S_ENV, KEEP_S_ENV, MAX_JOBS_ENV, MAX_RUN_S_ENV, SettingError


@dataclass(frozen=True)
class FakeSnapshot:
    eta_s: float | None


class FakeJob:
    """A job that runs until stopped (or finished by the test), on the test's clock."""

    def __init__(self, clock: FakeClock, eta_s: float | None = 60.0) -> None:
        self.job_id = new_run_id()[:12]
        self.clock, self.eta_s = clock, eta_s
        self.ended_at: float | None = None
        self.stop_calls = 0
        self.stop_reason: str | None = None

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    def stop(self, reason: str | None = None) -> None:
        self.stop_calls += 1
        self.stop_reason = reason
        self.finish()  # a trainer ends within a step; here at once

    def finish(self) -> None:
        if self.ended_at is None:
            self.ended_at = self.clock()

    def join(self, timeout: float | None = None) -> bool:
        return self.ended_at is not None

    def snapshot(self) -> FakeSnapshot:
        return FakeSnapshot(self.eta_s)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_runs(clock: FakeClock, **kwargs: Any) -> Runs:
    options = dict(max_running=1, abandon_s=120.0, keep_s=900.0, clock=clock, reap_every=None)
    return Runs(**{**options, **kwargs})


def test_fake_job_satisfies_the_protocol(clock: FakeClock) -> None:
    assert isinstance(FakeJob(clock), JobHandle)


def test_run_ids_are_random_hex_and_urls_cannot_inject_other_keys() -> None:
    a, b = new_run_id(), new_run_id()
    assert a != b and valid_run_id(a) and len(a) == 32
    for bad in ("", "../etc/passwd", a.upper(), a + "0", None, 42, ["x"]):
        assert not valid_run_id(bad)


def test_a_reload_reconnects_to_the_run_by_its_id(clock: FakeClock) -> None:
    reg = make_runs(clock)
    run_id = new_run_id()
    job = reg.start(run_id, lambda: FakeJob(clock))
    # A reload is a new Streamlit session: all it has is the run id from the URL.
    clock.advance(30)
    assert reg.get(run_id) is job and job.is_active
    assert reg.touch(run_id)
    assert reg.get(new_run_id()) is None and not reg.touch(new_run_id())
    assert reg.get(None) is None


def test_second_visitor_is_refused_with_the_time_left(clock: FakeClock) -> None:
    reg = make_runs(clock)
    reg.start("a" * 32, lambda: FakeJob(clock, eta_s=65.0))
    busy = reg.availability()
    assert busy == Availability(running=1, limit=1, eta_s=65.0) and not busy.free
    assert "busy training a model for other visitors (about 1 min 05 s left)" in busy.busy_message()
    with pytest.raises(JobRefused, match=r"about 1 min 05 s left") as refused:
        reg.start("b" * 32, lambda: pytest.fail("a refused start must not build its job"))
    assert refused.value.eta_s == 65.0
    assert reg.get("b" * 32) is None


def test_unknown_time_left_is_said_so(clock: FakeClock) -> None:
    reg = make_runs(clock)
    reg.start("a" * 32, lambda: FakeJob(clock, eta_s=None))
    assert "time left not known yet" in reg.availability().busy_message()


def test_the_slot_that_frees_first_sets_the_wait(clock: FakeClock) -> None:
    reg = make_runs(clock, max_running=2)
    reg.start("a" * 32, lambda: FakeJob(clock, eta_s=300.0))
    assert reg.availability() == Availability(1, 2, None)  # a slot is free: nobody waits
    reg.start("b" * 32, lambda: FakeJob(clock, eta_s=40.0))
    assert reg.availability().eta_s == 40.0


def test_a_running_run_is_not_replaced_but_an_ended_one_is(clock: FakeClock) -> None:
    reg = make_runs(clock, max_running=2)
    run_id = new_run_id()
    first = reg.start(run_id, lambda: FakeJob(clock))
    with pytest.raises(JobRefused, match="still training"):
        reg.start(run_id, lambda: FakeJob(clock))
    assert reg.get(run_id) is first and first.is_active
    assert reg.stop(run_id) and not first.is_active
    assert not reg.stop(run_id)  # nothing active any more
    second = reg.start(run_id, lambda: FakeJob(clock))
    assert reg.get(run_id) is second is not first


def test_a_run_nobody_polls_stops_after_abandon_s(clock: FakeClock) -> None:
    reg = make_runs(clock, max_running=2)
    watched, left = new_run_id(), new_run_id()
    watched_job = reg.start(watched, lambda: FakeJob(clock))
    left_job = reg.start(left, lambda: FakeJob(clock))
    for _ in range(5):  # the watched tab polls every 30 s for 150 s; the other tab was closed
        clock.advance(30)
        reg.touch(watched)
        reg.sweep()
    assert watched_job.is_active and not reg.abandoned(watched)
    assert not left_job.is_active and left_job.stop_calls == 1
    assert reg.abandoned(left)
    assert reg.get(left) is left_job  # its results are still there to see
    assert reg.availability().running == 1


def test_abandonment_waits_the_whole_period(clock: FakeClock) -> None:
    reg = make_runs(clock)
    job = reg.start(new_run_id(), lambda: FakeJob(clock))
    clock.advance(119.9)
    reg.sweep()
    assert job.is_active
    clock.advance(0.2)
    reg.sweep()
    assert not job.is_active


def test_results_expire_keep_s_after_the_end_and_the_last_look(clock: FakeClock) -> None:
    reg = make_runs(clock, keep_s=600.0)
    run_id = new_run_id()
    job = reg.start(run_id, lambda: FakeJob(clock))
    clock.advance(50)
    reg.touch(run_id)
    job.finish()
    clock.advance(500)
    reg.touch(run_id)  # the visitor looks at the results: another 600 s from now
    clock.advance(599)
    assert reg.sweep() == [] and reg.get(run_id) is job
    clock.advance(2)
    assert reg.sweep() == [run_id]
    assert reg.get(run_id) is None and not reg.touch(run_id)


def test_expiry_hands_memory_back(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(runs_module, "release_memory", lambda: calls.append(1) or True)
    reg = make_runs(clock, keep_s=10.0)
    job = reg.start(new_run_id(), lambda: FakeJob(clock))
    reg.sweep()
    assert calls == []  # running: nothing to give back
    job.finish()
    reg.sweep()
    assert calls == [1]  # its thread ended: trimmed once
    reg.sweep()
    assert calls == [1]
    clock.advance(11)
    reg.sweep()
    assert calls == [1, 1]  # dropped


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = Runs(reap_every=None)
    monkeypatch.delenv(MAX_JOBS_ENV, raising=False)
    monkeypatch.delenv(ABANDON_S_ENV, raising=False)
    monkeypatch.delenv(KEEP_S_ENV, raising=False)
    assert (reg.max_running, reg.abandon_s, reg.keep_s) == (1, 120.0, 900.0)
    monkeypatch.setenv(MAX_JOBS_ENV, "3")
    monkeypatch.setenv(ABANDON_S_ENV, "30")
    monkeypatch.setenv(KEEP_S_ENV, "0")
    assert (reg.max_running, reg.abandon_s, reg.keep_s) == (3, 30.0, 0.0)
    for name, raw, words in ((MAX_JOBS_ENV, "many", "whole number"), (MAX_JOBS_ENV, "0", "at least 1"),
                             (ABANDON_S_ENV, "soon", "number of seconds"), (KEEP_S_ENV, "-5", "at least 0"),
                             (ABANDON_S_ENV, "nan", "at least 1")):
        monkeypatch.setenv(name, raw)
        with pytest.raises(SettingError, match=rf"\${name} must be.*{words}"):
            Runs(reap_every=None).start(new_run_id(), lambda: pytest.fail("must not start"))
        monkeypatch.delenv(name)


def test_stop_all_stops_and_joins_every_job(clock: FakeClock) -> None:
    reg = make_runs(clock, max_running=3)
    started = [reg.start(new_run_id(), lambda: FakeJob(clock)) for _ in range(3)]
    assert reg.close(timeout=1)
    assert all(not j.is_active and j.stop_calls == 1 for j in started)
    assert reg.running_count() == 0


def test_concurrent_starts_never_exceed_the_limit(clock: FakeClock) -> None:
    reg = make_runs(clock, max_running=2)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def visitor() -> None:
        barrier.wait()
        try:
            reg.start(new_run_id(), lambda: FakeJob(clock))
            outcomes.append("started")
        except JobRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=visitor) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(outcomes) == ["refused"] * 6 + ["started"] * 2


def test_a_real_training_job_through_the_servers_runs() -> None:
    """The TrainingJob the Train page starts fits the server's runs: start, reconnect, stop, join."""
    import dataclasses

    from resnet_core.data import make_synthetic
    from resnet_core.jobs import TrainingJob
    from resnet_core.train import TrainConfig

    config = dataclasses.replace(TrainConfig(data="synthetic", device="cpu", precision="fp32"), epochs=None,
                                 budget_s=600.0, batch_size=8, subset=16, test_subset=8, model="resnet20")
    reg = Runs(max_running=1, reap_every=None)
    run_id = new_run_id()
    data = dict(train_data=make_synthetic(16, seed=0), test_data=make_synthetic(8, split="test", seed=0))
    job = reg.start(run_id, lambda: TrainingJob(config, **data).start())
    try:
        assert reg.get(run_id) is job and job.is_active
        with pytest.raises(JobRefused, match="busy training a model"):
            reg.start(new_run_id(), lambda: TrainingJob(config, **data).start())
        assert reg.stop(run_id)
        assert job.join(timeout=30) and job.state == "stopped"
        assert reg.availability().free
    finally:
        reg.close(timeout=30)


def test_shutdown_waits_for_jobs_an_earlier_stop_all_gave_up_on(clock: FakeClock) -> None:
    class Slow(FakeJob):
        """Ends only when the test says so, however often it is stopped."""

        def stop(self) -> None:
            self.stop_calls += 1

    reg = make_runs(clock, max_running=2)
    slow = reg.start(new_run_id(), lambda: Slow(clock))
    forgotten = reg.start(run_id := new_run_id(), lambda: Slow(clock))
    reg.forget(run_id)
    assert not reg.stop_all(timeout=0)  # neither has ended
    assert reg.get(run_id) is None and reg.running_count() == 0  # no longer listed...
    assert not reg.close(timeout=0)  # ...but shutdown still knows they are alive
    assert slow.stop_calls == 2 and forgotten.stop_calls == 3
    slow.finish()
    forgotten.finish()
    assert reg.close(timeout=0)


# --- The limit per run (issue #19): no run holds the slot past max_run_s -------------------------


def test_a_watched_run_is_stopped_at_the_limit_and_says_why(clock: FakeClock) -> None:
    reg = make_runs(clock, max_run_s=900.0)
    run_id = new_run_id()
    job = reg.start(run_id, lambda: FakeJob(clock, eta_s=5000.0))
    for _ in range(89):  # a tab polls every 10 s for 890 s: watched the whole time
        clock.advance(10)
        reg.touch(run_id)
        reg.sweep()
    assert job.is_active and job.stop_calls == 0
    clock.advance(11)
    reg.touch(run_id)
    reg.sweep()
    assert not job.is_active and job.stop_calls == 1
    assert job.stop_reason == "stopped after 15 min, this server's limit per run"
    assert not reg.abandoned(run_id)  # stopped by the limit, not for want of a tab
    reg.sweep()
    assert job.stop_calls == 1
    assert reg.availability().free  # the next visitor may start


def test_the_limit_message_names_other_lengths() -> None:
    assert runs_module.limit_message(900.0) == "stopped after 15 min, this server's limit per run"
    assert runs_module.limit_message(90.0) == "stopped after 1 min 30 s, this server's limit per run"
    assert runs_module.limit_message(30.0) == "stopped after 30 s, this server's limit per run"


def test_the_busy_message_wait_is_capped_by_the_limit(clock: FakeClock) -> None:
    reg = make_runs(clock, max_run_s=900.0)
    reg.start("a" * 32, lambda: FakeJob(clock, eta_s=3 * 3600.0))  # a race of hours, by its own pace
    clock.advance(600)
    reg.touch("a" * 32)  # watched all along
    busy = reg.availability()
    assert busy.eta_s == 300.0 and busy.latest_s == 300.0
    assert "about 5 min 00 s left" in busy.busy_message()
    with pytest.raises(JobRefused) as refused:
        reg.start("b" * 32, lambda: pytest.fail("must not start"))
    assert refused.value.eta_s == 300.0


def test_a_sooner_eta_is_kept_and_an_unknown_one_says_the_latest(clock: FakeClock) -> None:
    reg = make_runs(clock, max_run_s=900.0)
    reg.start("a" * 32, lambda: FakeJob(clock, eta_s=65.0))
    assert reg.availability().eta_s == 65.0
    other = make_runs(clock, max_run_s=900.0)
    other.start("b" * 32, lambda: FakeJob(clock, eta_s=None))
    clock.advance(120)
    other.touch("b" * 32)
    message = other.availability().busy_message()
    assert "time left not known yet, at most 13 min 00 s: this server's limit per run" in message
    with pytest.raises(JobRefused) as refused:
        other.start("c" * 32, lambda: pytest.fail("must not start"))
    assert refused.value.eta_s == 780.0


def test_max_run_s_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = Runs(reap_every=None)
    monkeypatch.delenv(MAX_RUN_S_ENV, raising=False)
    assert reg.max_run_s == 900.0
    monkeypatch.setenv(MAX_RUN_S_ENV, "60")
    assert reg.max_run_s == 60.0
    monkeypatch.setenv(MAX_RUN_S_ENV, "0")
    with pytest.raises(SettingError, match=r"\$RESNET_MAX_RUN_S must be at least 1"):
        reg.max_run_s


class StepsJob(Job[int, int]):
    """A real Job whose worker steps until stopped, as a trainer does."""

    def _work(self) -> int:
        steps = 0
        while not self._stop.wait(0.01):
            steps += 1
        return steps

    def _final_state(self, result: int) -> tuple[JobState, str]:
        return "stopped", f"stopped after {result} steps"

    def snapshot(self) -> FakeSnapshot:
        return FakeSnapshot(None)


def test_a_real_job_stopped_by_the_limit_shows_the_reason() -> None:
    times = [0.0]
    reg = Runs(max_running=1, abandon_s=120.0, keep_s=900.0, max_run_s=900.0, clock=lambda: times[0],
               reap_every=None)
    job = reg.start(new_run_id(), StepsJob().start)
    times[0] = 901.0
    reg.sweep()
    assert job.join(timeout=10)
    assert job.state == "stopped" and job._copy()[1] == "stopped after 15 min, this server's limit per run"
    plain = StepsJob().start()
    plain.stop()  # a visitor's own Stop keeps the worker's words
    assert plain.join(timeout=10) and plain._copy()[1].startswith("stopped after ")
    assert "limit" not in plain._copy()[1]
