"""Seconds from SIGTERM / Ctrl-C to exit for a server with trainings in progress, against an idle one.

Starts ``tests/serve_training.py`` (Streamlit's own server and signal handlers, with N background
trainings that have each taken a step, and F fine-tunes training their last stage), sends the
signal, and times the exit. The baseline is the same server with no job, measured in the same run.
Issue #10's goal (and issue #20's, for fine-tunes): exit code 0 within a few seconds. Usage::

    python bench/shutdown.py                            # 2 trainings; prints a Markdown block for bench/RESULTS.md
    python bench/shutdown.py --jobs 0 --finetunes 1     # one fine-tune
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import ROOT, free_port, machine, torch_version, wait_healthy  # noqa: E402


def time_exit(jobs: int, signum: int, finetunes: int = 0) -> tuple[int, float]:
    """(exit code, seconds from the signal to the exit) of a server running ``jobs`` trainings and ``finetunes``."""
    port = free_port()
    env = {**os.environ, "RESNET_MAX_JOBS": str(max(jobs + finetunes, 1)), "PYTHONUNBUFFERED": "1"}
    args = [str(port), str(jobs), "--finetunes", str(finetunes)]
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "serve_training.py"), *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "training"
        assert wait_healthy(f"http://127.0.0.1:{port}", proc), "the server did not come up"
        t0 = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=120)
        return code, time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="trainings in progress when the signal comes")
    parser.add_argument("--finetunes", type=int, default=0, help="last-stage fine-tunes in progress then")
    args = parser.parse_args()
    rows = ["| signal | trainings running | fine-tunes running | exit code | seconds to exit | / idle server |",
            "|---|---:|---:|---:|---:|---:|"]
    for signum, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C (SIGINT)")):
        _, idle = time_exit(0, signum)
        code, busy = time_exit(args.jobs, signum, args.finetunes)
        rows.append(f"| {name} | 0 (baseline) | 0 | 0 | {idle:.2f} | 1.0x |")
        rows.append(f"| {name} | {args.jobs} | {args.finetunes} | {code} | {busy:.2f} | {busy / idle:.1f}x |")
        print(rows[-2], rows[-1], sep="\n", flush=True)
    command = f"python bench/shutdown.py --jobs {args.jobs} --finetunes {args.finetunes}"
    print(f"\n- Machine: {machine()}; torch {torch_version()}\n- Command: `{command}`\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
