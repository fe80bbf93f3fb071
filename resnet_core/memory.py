"""Giving memory back to the operating system once a big piece of work has let go of it.

glibc's malloc keeps freed memory in its arenas for reuse; after a training run (every thread
gets an arena, and activations of 16-32 MB fall under its dynamic mmap threshold) a server
that has nothing left to do can sit on a gigabyte it does not use (issue #10: "plateaus at
0.9-2.2 GB"). ``malloc_trim(0)`` hands the free pages of every arena back. On a C library
without it (macOS, musl) this is only a garbage collection.

Trimming cannot undo fragmentation spread over many arenas; fewer arenas can, but only from the
start: glibc fixes its limit once more than 8 arenas exist, and Streamlit's server runs 15 threads
in 15 arenas before the first page script starts. So ``mallopt(M_ARENA_MAX)`` from here changes
nothing, and the README starts the server with ``MALLOC_ARENA_MAX=2`` instead (bench/RESULTS.md,
"Many visitors at once", has the A/B). A fixed low ``M_MMAP_THRESHOLD`` (every big tensor its own
mapping) left the RSS as it was and made race steps ~1.9x slower: not used either.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable

__all__ = ["forget_idle_caches", "release_memory", "release_memory_now_and_then", "rss_bytes", "trim_heap"]

# None until the first release: time.monotonic() counts from boot on Linux, so any number
# here would be "recent" on a machine booted less than min_interval_s ago (issue 19).
_last_release: float | None = None
_release_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def trim_heap() -> bool:
    """Return the free pages of every malloc arena to the OS; True if the C library could.

    No garbage collection, so it is cheap enough to call from a training loop now and then.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def release_memory() -> bool:
    """Collect garbage, then return free heap pages to the OS; True if the C library could."""
    gc.collect()
    return trim_heap()


def forget_idle_caches() -> list[str]:
    """Drop the caches only a running job reads; the names of those dropped.

    The CIFAR-10 splits a training read (``resnet_core.data``'s cache: the race's 16x16 split and
    its test split) stay in memory for the next run; with no run left on the server nobody reads
    them. Looked up in ``sys.modules``, not imported: a process that never trained has no such
    cache, and importing the module would load torch for nothing.
    """
    dropped = []
    data = sys.modules.get("resnet_core.data")
    if data is not None:
        data.clear_cache()
        dropped.append("resnet_core.data")
    return dropped


def release_memory_now_and_then(min_interval_s: float = 30.0, *, clock: Callable[[], float] = time.monotonic) -> bool:
    """:func:`release_memory` at most once per ``min_interval_s`` in this process; True if it ran.

    Cheap enough to call on every page run: what an earlier rerun dropped (a decoded photo, a
    page's arrays) goes back to the OS soon after, not only after a training run. The first call
    always runs, however young the machine (``clock`` is injectable for that test).
    """
    global _last_release
    now = clock()
    with _release_lock:
        if _last_release is not None and now - _last_release < min_interval_s:
            return False
        _last_release = now
    return release_memory()


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of ``pid`` (default: this process) from /proc; 0 where there is no /proc."""
    try:
        text = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
