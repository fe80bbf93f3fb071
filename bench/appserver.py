"""Shared by the browser benchmarks: a live ``streamlit run app.py``, its memory, and Chromium.

Not a benchmark itself. ``AppServer`` starts the app on a free port the way a deployment does
(``python -m streamlit run app.py``) and samples the server process's resident memory in a
background thread (psutil when installed, else /proc). ``chromium()`` launches Debian's Chromium
through Playwright with the flags the browser tests use.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
MB = 2**20


def rss_of(pid: int) -> int:
    """Resident set size of ``pid`` in bytes: psutil if installed, else /proc/<pid>/status."""
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - the process is gone
        return 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class AppServer:
    """``streamlit run app.py`` in a subprocess, with an RSS sampler (every ``every`` seconds)."""

    def __init__(self, env: dict[str, str] | None = None, extra_args: list[str] | None = None,
                 every: float = 0.1, log_path: Path | None = None, script: str = "app.py") -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.extra_args = extra_args or []
        self.every = every
        self.script = script
        self.log_path = log_path or ROOT / "test-results" / "bench-server.log"
        self.samples: list[tuple[float, int]] = []  # (monotonic time, bytes)
        self._stop = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def __enter__(self) -> AppServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", self.script, "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", *self.extra_args],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.started_at = time.monotonic()
        threading.Thread(target=self._sample, daemon=True).start()
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start (exit {self.proc.poll()}); see {self.log_path}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.exit_code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.exit_code = self.proc.wait()
        self._log.close()

    def _sample(self) -> None:
        assert self.proc is not None
        while not self._stop.is_set() and self.proc.poll() is None:
            self.samples.append((time.monotonic(), rss_of(self.proc.pid)))
            time.sleep(self.every)

    def rss(self) -> int:
        assert self.proc is not None
        return rss_of(self.proc.pid)

    def peak_since(self, t0: float) -> int:
        """Highest RSS sampled since ``t0`` (a ``time.monotonic()``), bytes."""
        return max((b for t, b in self.samples if t >= t0), default=self.rss())


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright); raises SystemExit with advice if unavailable."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("Playwright for Python is needed: pip install -r requirements-dev.txt") from None
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_script(page: Any, timeout_s: float = 120) -> None:
    """Until Streamlit is connected, the script has finished, and the page has a title."""
    ms = timeout_s * 1000
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=ms)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=ms)
    page.wait_for_selector("h1", timeout=ms)


def machine() -> str:
    """CPU model, usable cores, instruction set and load average, for bench/RESULTS.md."""
    sys.path.insert(0, str(ROOT))
    from resnet_core.device import cpu_cores, cpu_features

    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError, subprocess.CalledProcessError, StopIteration):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {cpu_cores()} cores, {cpu_features()}; load average {load}"


def torch_version() -> str:
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
