"""Handing memory back to the OS: the once-per-interval release, the heap trim, RSS."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resnet_core import memory

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    """A monotonic clock that starts where a machine booted ``start`` seconds ago would."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("uptime_s", [0.5, 5.0, 59.0, 86_400.0])
def test_the_first_release_runs_however_young_the_machine(monkeypatch: pytest.MonkeyPatch, uptime_s: float) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "release_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(memory, "_last_release", None)
    clock = FakeClock(uptime_s)
    assert memory.release_memory_now_and_then(min_interval_s=3600, clock=clock)
    clock.now += 3599
    assert not memory.release_memory_now_and_then(min_interval_s=3600, clock=clock)
    clock.now += 2
    assert memory.release_memory_now_and_then(min_interval_s=3600, clock=clock)
    assert calls == [1, 1]


def test_memory_is_released_at_most_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "release_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(memory, "_last_release", None)
    assert memory.release_memory_now_and_then(min_interval_s=3600)
    assert not memory.release_memory_now_and_then(min_interval_s=3600)
    assert calls == [1]
    assert memory.release_memory() in (True, False)  # the real one: glibc trims, others only collect
    assert memory.rss_bytes() > 0


def test_the_heap_is_trimmed_on_glibc() -> None:
    assert memory.trim_heap() is (platform.libc_ver()[0] == "glibc")  # elsewhere: nothing to call


def _young_namespace() -> list[str]:
    """``unshare`` arguments for a time namespace whose monotonic clock reads ~20 s, or skip."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        pytest.skip("needs Linux's unshare for a time namespace")
    offset = int(time.monotonic()) - 20
    cmd = [unshare, "--time", f"--monotonic={-max(offset, 0)}", "--fork"]
    probe = subprocess.run([*cmd, sys.executable, "-c", "import time; print(time.monotonic())"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"time namespaces are not available here (root and Linux 5.6+): {probe.stderr.strip()[:200]}")
    assert float(probe.stdout) < 60, probe.stdout
    return cmd


@pytest.mark.slow
def test_clock_sensitive_tests_pass_on_a_machine_booted_seconds_ago() -> None:
    """The memory, job and server-runs tests in a time namespace whose clock starts ~20 s after boot.

    ``time.monotonic()`` counts from boot on Linux; code that starts a timer at 0.0 misbehaves for
    the first minutes after boot (issue 19), which a CI machine may be.
    """
    cmd = _young_namespace()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    tests = ["tests/test_memory.py", "tests/test_runs.py", "tests/test_jobs.py", "tests/test_finetune_job.py"]
    run = subprocess.run(
        [*cmd, sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
         "-k", "not booted_seconds_ago", *tests],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_idle_release_forgets_the_cifar10_splits_only_jobs_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from resnet_core import data

    monkeypatch.setitem(data._cache, ("root", "train", None, 16, ()), object())
    assert memory.forget_idle_caches() == ["resnet_core.data"]
    assert not data._cache


def test_idle_release_never_imports_the_data_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "resnet_core.data", raising=False)
    assert memory.forget_idle_caches() == []
    assert "resnet_core.data" not in sys.modules  # torch is not loaded for a cache nobody made


class EndingJob:
    """The little of a job the server's runs table reads; it ends when the test says so."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.ended_at = clock, None
        self.job_id = "ending-job"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    def end(self) -> None:
        self.ended_at = self.clock()

    def stop(self, reason: str | None = None) -> None:
        self.end()

    def join(self, timeout: float | None = None) -> bool:
        return self.ended_at is not None

    def snapshot(self) -> object:
        return type("Snap", (), {"eta_s": None})()


@pytest.mark.parametrize("other_running", [False, True])
def test_expiry_drops_the_data_caches_only_when_no_run_is_left(monkeypatch: pytest.MonkeyPatch,
                                                               other_running: bool) -> None:
    from resnet_core.jobs import runs as runs_module

    calls: list[str] = []
    monkeypatch.setattr(runs_module, "forget_idle_caches", lambda: calls.append("caches") or [])
    monkeypatch.setattr(runs_module, "release_memory", lambda: calls.append("trim") or True)
    clock = FakeClock(1000.0)
    table = runs_module.Runs(max_running=2, abandon_s=1e9, keep_s=30, clock=clock, reap_every=None)
    first = table.start("run-one", lambda: EndingJob(clock))
    if other_running:
        table.start("run-two", lambda: EndingJob(clock))
    first.end()
    table.sweep()  # the ended job's thread is gone: its pages go back, the caches stay for a next run
    assert calls == ["trim"]
    clock.now += 31
    assert table.sweep() == ["run-one"]
    assert calls == (["trim", "trim"] if other_running else ["trim", "caches", "trim"])
