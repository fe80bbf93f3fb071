"""Which accelerator this machine has, in words a person can read."""

from __future__ import annotations

import os

import torch


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"`` gives CUDA when available, else the CPU; ``"cpu"``/``"cuda"`` are checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use 'cpu' or 'auto'")
    if name.split(":")[0] not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; use 'auto', 'cpu' or 'cuda'")
    return torch.device(name)


def describe_device(device: torch.device | None = None) -> str:
    """E.g. ``"NVIDIA H100 80GB HBM3 (CUDA)"`` or ``"CPU (2 cores)"``."""
    device = device or pick_device()
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU ({cores} cores)"


def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 dot products (AVX512-BF16 or AMX), so autocast pays."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
