"""Which accelerator this machine has, what its CPU can do fast, in words a person can read.

torch is imported inside the functions that need it: the app's sidebar asks this module what the
machine has on every page, and a page that never touches a model should not pay the ~500 MB
and ~4 s that ``import torch`` costs (issue #10).
"""

from __future__ import annotations

import functools
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

__all__ = [
    "CpuFeatures",
    "CpuRecipe",
    "cpu_cores",
    "cpu_quota",
    "usable_cpus",
    "cpu_features",
    "cpu_recipe",
    "cpu_supports_bf16",
    "describe_device",
    "gpu_present",
    "pick_device",
]

_NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"`` gives CUDA when available, else the CPU; ``"cpu"``/``"cuda"`` are checked."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use 'cpu' or 'auto'")
    if name.split(":")[0] not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; use 'auto', 'cpu' or 'cuda'")
    return torch.device(name)


def cpu_cores() -> int:
    """CPU cores this process may use (its affinity mask, which containers narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _v2_limit(group: Path) -> float | None:
    """Cores allowed by ``cpu.max`` ("QUOTA PERIOD" or "max PERIOD") in ``group``, None if unlimited."""
    text = _read(group / "cpu.max")
    if not text or text.split()[0] == "max":
        return None
    quota, period = (int(x) for x in text.split()[:2])
    return quota / period if quota > 0 and period > 0 else None


def _v1_limit(group: Path) -> float | None:
    """Cores allowed by ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` in ``group``; -1 means none."""
    quota, period = _read(group / "cpu.cfs_quota_us"), _read(group / "cpu.cfs_period_us")
    if quota is None or period is None:
        return None
    q, p = int(quota), int(period)
    return q / p if q > 0 and p > 0 else None


def cpu_quota(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The CPU time this process's cgroups allow, in cores (e.g. 1.0, 0.5), or None if unlimited.

    A container's quota (Docker's ``--cpus``, Kubernetes limits, Streamlit Community Cloud) is not
    in the affinity mask: the process still sees every host core. cgroup v2 (``cpu.max``) and v1
    (``cpu.cfs_quota_us``) are both read, for the process's own group and each parent up to the
    mount point, since a limit set on a parent applies too; the smallest wins.
    """
    limits: list[float] = []
    for line in (_read(proc_cgroup) or "").splitlines():
        hierarchy, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if hierarchy == "0" and controllers == "":
            base, reader = cgroup_root, _v2_limit  # the unified hierarchy
            if not (base / "cgroup.controllers").exists() and (base / "unified").is_dir():
                base = base / "unified"  # hybrid layout: v2 mounted beside the v1 controllers
        elif "cpu" in controllers.split(","):
            base, reader = cgroup_root / controllers, _v1_limit
            if not base.is_dir():
                base = cgroup_root / "cpu"
        else:
            continue
        group = base / path.lstrip("/")
        while True:  # the own group, then each parent up to the mount (a container sees "/" there)
            limit = reader(group)
            if limit is not None:
                limits.append(limit)
            if group == base or base not in group.parents:
                break
            group = group.parent
    return min(limits) if limits else None


def usable_cpus(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """Threads worth running: the affinity mask's cores, capped by the cgroup quota rounded up; at least 1.

    More threads than the quota only get throttled, and OpenMP's spinning barriers then burn the
    quota waiting for threads that are not scheduled (issue 19).
    """
    quota = cpu_quota(cgroup_root, proc_cgroup)
    cores = cpu_cores()
    return max(1, min(cores, math.ceil(quota)) if quota is not None else cores)


def set_cpu_threads(divide_by: int = 1) -> int:
    """Give torch's intra-op pool the usable CPUs (shared among ``divide_by`` processes); returns the count."""
    import torch

    threads = max(1, usable_cpus() // max(1, divide_by))
    torch.set_num_threads(threads)
    return threads


def gpu_present() -> bool:
    """True where torch may find a GPU: torch says so if imported; else an NVIDIA driver is loaded."""
    if "torch" in sys.modules:
        return bool(sys.modules["torch"].cuda.is_available())
    return _NVIDIA_GPUS.is_dir() and any(_NVIDIA_GPUS.iterdir())


def describe_device(device: torch.device | None = None) -> str:
    """E.g. ``"NVIDIA H100 80GB HBM3 (CUDA)"`` or ``"CPU (2 cores, AVX2)"``.

    Without an explicit device, a machine with no NVIDIA driver is described without importing
    torch (the sidebar's case); where a GPU may be, torch is asked.
    """
    if device is None and not gpu_present():
        return _describe_cpu()
    device = device or pick_device()
    if device.type == "cuda":
        import torch

        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    return _describe_cpu()


def _describe_cpu() -> str:
    quota = cpu_quota()
    cores = f"{cpu_cores()} cores" + (f", quota {quota:g}" if quota is not None and quota < cpu_cores() else "")
    return f"CPU ({cores}, {cpu_features().vector_isa})"


@dataclass(frozen=True)
class CpuFeatures:
    """The instruction-set extensions that decide how fast this CPU trains (from /proc/cpuinfo)."""

    avx2: bool
    avx512: bool  # AVX-512 foundation
    bf16: bool  # native bf16 dot products: AVX512-BF16 or AMX-BF16

    @property
    def vector_isa(self) -> str:
        """The widest vector extension, as people name it: "AVX-512", "AVX2" or "SSE"."""
        return "AVX-512" if self.avx512 else "AVX2" if self.avx2 else "SSE"

    def __str__(self) -> str:
        return f"{self.vector_isa}{', bf16' if self.bf16 else ', no bf16'}"


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """This machine's CPU features; all False where /proc/cpuinfo cannot be read (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags: set[str] = set()
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        flags = set()
    return CpuFeatures(
        avx2="avx2" in flags,
        avx512="avx512f" in flags,
        bf16="avx512_bf16" in flags or "amx_bf16" in flags,
    )


def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 dot products (AVX512-BF16 or AMX), so autocast pays."""
    return cpu_features().bf16


CpuRecipe = Literal["bf16", "fp32"]


def cpu_recipe(features: CpuFeatures | None = None) -> CpuRecipe:
    """Which CPU training recipe fits this CPU (``TrainConfig.for_device`` holds the recipes).

    "bf16": native bf16 dot products make bf16 autocast ~2x faster than fp32 (1846 vs ~1000
    images/s for resnet9_w16 on an AVX-512 EPYC), so full-size images at full width fit a
    2-minute budget. "fp32": everything else (AVX2-only CPUs such as many cloud vCPUs), where
    bf16 is emulated and slower than fp32 and an image costs 2-3x the time (~700-790 images/s),
    so the recipe takes smaller batches for more steps (bench/RESULTS.md, "Training").
    """
    return "bf16" if (features or cpu_features()).bf16 else "fp32"
