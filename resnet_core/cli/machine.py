"""``python -m resnet_core info | prefetch``: what this machine has, and fetching what it lacks for offline use.

Also :func:`machine_words`, the record of the machine that results (and benchmarks) carry.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
from typing import Any

from resnet_core.cli.common import EXIT_ERROR, EXIT_OK, json_safe, say
from resnet_core.models import list_models
from resnet_core.timm_catalog import cached_timm_names, hub_cache_dir, timm_names

__all__ = ["add_info_parser", "add_prefetch_parser", "cmd_info", "cmd_prefetch", "machine_words"]


def add_prefetch_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``prefetch`` subcommand to ``sub`` (the main parser's subparsers)."""
    prefetch = sub.add_parser(
        "prefetch",
        help="download CIFAR-10 and ImageNet weights into the caches, for offline use",
        description="Download what the app needs into its caches so it works offline. "
        "With no options: CIFAR-10, the weights of every ImageNet variant and the curated timm models.",
    )
    prefetch.add_argument("--cifar", action="store_true", help="download CIFAR-10 (about 170 MB)")
    imagenet = list_models(family="imagenet")
    prefetch.add_argument("--weights", nargs="+", choices=imagenet, metavar="NAME",
                          help=f"torchvision ImageNet weights to download: {', '.join(imagenet)}")
    timm_models = timm_names()
    prefetch.add_argument("--timm", nargs="+", choices=timm_models, metavar="NAME",
                          help=f"timm ImageNet weights to download into the Hugging Face cache: {', '.join(timm_models)}")
    return prefetch


def add_info_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``info`` subcommand to ``sub`` (the main parser's subparsers)."""
    info = sub.add_parser("info", help="show the device, CIFAR-10 location and cached weights")
    info.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return info


def cmd_prefetch(args: argparse.Namespace) -> int:
    """Download CIFAR-10, torchvision and/or timm ImageNet weights; exit 1 if any download failed."""
    everything = not args.cifar and not args.weights and not args.timm
    weights = list_models(family="imagenet") if everything else list(args.weights or [])
    failures = 0
    if args.cifar or everything:
        from resnet_core.data import DataError, download_cifar10

        say("CIFAR-10: downloading (about 170 MB) ...")
        try:
            path = download_cifar10(progress=True)
        except DataError as exc:
            say(f"CIFAR-10: {exc}")
            failures += 1
        else:
            print(f"CIFAR-10: {path}", flush=True)
    if weights:
        from resnet_core.pretrained import download_weights  # torchvision: only when needed

        for name in weights:
            say(f"{name}: downloading ImageNet weights ...")
            try:
                path = download_weights(name, progress=True)
            except (OSError, ValueError, RuntimeError) as exc:  # network, disk, bad hash
                say(f"{name}: download failed: {exc}")
                failures += 1
            else:
                print(f"{name}: {path}", flush=True)
    if args.timm or everything:
        from resnet_core.timm_backbones import download_timm_weights  # timm: only when needed

        for name in timm_names() if everything else args.timm:
            say(f"timm:{name}: downloading through timm ...")
            try:
                path = download_timm_weights(name)
            except (OSError, ValueError, RuntimeError) as exc:  # WeightsUnavailableError is a RuntimeError
                say(f"timm:{name}: download failed: {exc}")
                failures += 1
            else:
                print(f"timm:{name}: {path}", flush=True)
    return EXIT_ERROR if failures else EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    """Show the device, where CIFAR-10 is and which ImageNet weights are cached."""
    import torch

    from resnet_core.environment import machine_status

    status = machine_status()
    if args.json:
        print(json.dumps(json_safe({**dataclasses.asdict(status), "timm_cached": cached_timm_names()})))
        return EXIT_OK
    print(f"device:            {status.device}")
    print(f"CIFAR-10:          {status.cifar10_dir or 'not found (python -m resnet_core prefetch --cifar)'}")
    cached = ", ".join(status.pretrained_cached) or "none (python -m resnet_core prefetch --weights NAME)"
    print(f"ImageNet weights:  {cached}")
    timm_cached = ", ".join(f"timm:{n}" for n in cached_timm_names()) or "none (python -m resnet_core prefetch --timm NAME)"
    print(f"timm weights:      {timm_cached} (Hugging Face cache {hub_cache_dir()})")
    print(f"torch:             {torch.__version__}")
    return EXIT_OK


def machine_words() -> dict[str, Any]:
    """The machine a result came from: CPU model, cores and the SIMD flags that decide its speed."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    import torch

    from resnet_core.device import usable_cpus

    cores = usable_cpus()
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    # The kernels torch actually runs: lower than ``simd`` where ATEN_CPU_CAPABILITY caps them.
    kernels = torch.backends.cpu.get_cpu_capability()
    return {"cpu": model, "cores": cores, "simd": simd, "kernels": kernels, "gpu": gpu, "torch": torch.__version__}
