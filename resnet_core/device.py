"""Which accelerator this machine has, what its CPU can do fast, in words a person can read.

torch is imported inside the functions that need it: the app's sidebar asks this module what the
machine has on every page, and a page that never touches a model should not pay the ~500 MB
and ~4 s that ``import torch`` costs (issue #10).
"""

from __future__ import annotations

import functools
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
    return f"CPU ({cpu_cores()} cores, {cpu_features().vector_isa})"


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
