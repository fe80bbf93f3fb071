"""SIGTERM or Ctrl-C with trainings in progress: the server stops them and exits 0 in seconds.

Runs Streamlit's real server and signal handlers in a subprocess (tests/serve_training.py).
Before the registry's exit hook, Python finalised with the training threads still inside torch
and the C++ runtime aborted: exit 134, "terminate called without an active exception" (issue #10).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browsing import free_port

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail("the server did not come up")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_signal_with_two_runs_in_progress_exits_0_within_seconds(signum: int, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "RESNET_MAX_JOBS": "2", "PYTHONUNBUFFERED": "1"}
    err = open(tmp_path / "stderr.txt", "w+")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "serve_training.py"), str(port), "2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "training", (err.seek(0), err.read())[1]
        _wait_healthy(port, proc)
        proc.send_signal(signum)
        code = proc.wait(timeout=60)  # a hang guard, not a timing: bench/shutdown.py measures how fast
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.seek(0)
    log = err.read()
    assert "terminate called" not in log, log[-2000:]
    assert code == 0, log[-2000:]
