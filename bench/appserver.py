"""Shared by the browser benchmarks: a live ``streamlit run app.py``, its memory, and Chromium.

Not a benchmark itself. ``AppServer`` starts the app on a free port the way a deployment does
(``python -m streamlit run app.py``) and samples the server process's resident memory in a
background thread (psutil when installed, else /proc). ``chromium()`` launches Debian's Chromium
through Playwright with the flags the browser tests use.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shlex
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
sys.path.insert(0, str(ROOT))
from webui.pages import PAGES, page  # noqa: E402, F401 (the app's page list: no Streamlit, no torch)

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
MB = 2**20


def _status_bytes(pid: int, field: str) -> int:
    """One "kB" line of /proc/<pid>/status (VmRSS, RssAnon, ...) in bytes; 0 if absent or gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_of(pid: int) -> int:
    """Resident set size of ``pid`` in bytes: psutil if installed, else /proc/<pid>/status."""
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        return _status_bytes(pid, "VmRSS")
    except Exception:  # noqa: BLE001 - the process is gone
        return 0


def anon_of(pid: int) -> int:
    """Anonymous resident memory of ``pid`` in bytes (RssAnon: heap, tensors; not the mapped
    library files, which the kernel can drop and read again), or 0 where /proc has no such line."""
    return _status_bytes(pid, "RssAnon")


class AppServer:
    """``streamlit run app.py`` in a subprocess, with an RSS sampler (every ``every`` seconds)."""

    def __init__(self, env: dict[str, str] | None = None, extra_args: list[str] | None = None,
                 every: float = 0.1, log_path: Path | None = None, script: str = "app.py",
                 cgroups: list[Path] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A benchmark's runs are not kept on disk (resnet_core.jobs.archive) unless it asks.
        self.env = {"RESNET_RUNS_KEEP": "0", **os.environ, **(env or {})}
        self.extra_args = extra_args or []
        self.every = every
        self.script = script
        self.cgroups = cgroups or []  # cgroup v1 directories the server joins before it starts
        self.log_path = log_path or ROOT / "test-results" / "bench-server.log"
        self.samples: list[tuple[float, int, int]] = []  # (monotonic time, RSS bytes, anonymous bytes)
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
            preexec_fn=self._join_cgroups if self.cgroups else None,
        )
        self.started_at = time.monotonic()
        threading.Thread(target=self._sample, daemon=True).start()
        if not wait_healthy(self.url, self.proc):
            raise RuntimeError(f"streamlit did not start (exit {self.proc.poll()}); see {self.log_path}")
        return self

    def _join_cgroups(self) -> None:
        """In the child, before exec: move this process into each cgroup (its limits then apply)."""
        for group in self.cgroups:
            (group / "cgroup.procs").write_text(str(os.getpid()))

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
            self.samples.append((time.monotonic(), rss_of(self.proc.pid), anon_of(self.proc.pid)))
            time.sleep(self.every)

    def rss(self) -> int:
        assert self.proc is not None
        return rss_of(self.proc.pid)

    def anon(self) -> int:
        assert self.proc is not None
        return anon_of(self.proc.pid)

    def peak_since(self, t0: float, anon: bool = False) -> int:
        """Highest RSS (or anonymous memory) sampled since ``t0`` (a ``time.monotonic()``), bytes."""
        return max((a if anon else b for t, b, a in self.samples if t >= t0),
                   default=self.anon() if anon else self.rss())


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout_s: float = 120) -> bool:
    """Until Streamlit at ``url`` answers its health check: True, or False if ``proc`` died or time ran out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def append_results(heading: str, intro: str, entry: str) -> Path:
    """Add ``entry`` at the end of bench/RESULTS.md's ``heading`` section (made, with ``intro``, if new)."""
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text()
    if heading not in text:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{intro}\n"
    start = text.index(heading) + len(heading)
    nxt = text.find("\n## ", start)
    text = text + entry if nxt == -1 else text[:nxt].rstrip("\n") + "\n" + entry + text[nxt:]
    results.write_text(text)
    return results


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """A browser benchmark's parser: its docstring's first paragraph, ``--data-dir`` and ``--no-append``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="CIFAR-10 for the training runs ($RESNET_DATA_DIR)")
    parser.add_argument("--no-append", action="store_true", help="do not append to bench/RESULTS.md")
    return parser


def report(script: str, heading: str, intro: str, notes: list[str], table: list[str], append: bool) -> None:
    """Print a benchmark's table and notes; if ``append``, add them as a dated entry under ``heading``."""
    print("\n".join(table))
    print("\n".join(f"- {n}" for n in notes))
    if not append:
        return
    command = "python " + " ".join(shlex.quote(a) for a in [script, *sys.argv[1:]])
    entry = (f"\n### {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
             f"- Machine: {machine()}; torch {torch_version()}\n- Command: `{command}`\n"
             + "".join(f"- {n}\n" for n in notes) + "\n" + "\n".join(table) + "\n")
    print(f"appended to {append_results(heading, intro, entry)}")


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
