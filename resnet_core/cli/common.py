"""What every ``python -m resnet_core`` command shares: argument types, stderr progress, JSON, Ctrl-C.

Stdout carries only a command's JSON result; everything for people goes to stderr through :func:`say`.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

__all__ = [
    "EXIT_DIVERGED", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "UsageError", "ctrl_c_stops", "json_safe",
    "positive_float", "positive_int", "say",
]

#: 0 done (or stopped by Ctrl-C: the JSON says so), 1 an expected error (missing data, a bad path,
#: no network), 2 bad arguments (as argparse), 3 the run diverged.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3


class UsageError(Exception):
    """Arguments that parse but do not make a valid run; reported like an argparse error."""


def positive_float(text: str) -> float:
    """A finite number above zero (argparse ``type=``)."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1 (argparse ``type=``)."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def say(*parts: Any) -> None:
    """Progress and diagnostics go to stderr: stdout carries only the JSON result."""
    print(*parts, file=sys.stderr, flush=True)


def json_safe(value: Any) -> Any:
    """NaN and infinity are not JSON: a diverged run reports null for its loss."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


@contextmanager
def ctrl_c_stops(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C asks the run to stop (it returns "stopped" with a result); second aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say("stopping after this step; press Ctrl-C again to abort")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
