"""How much a Grad-CAM map costs on top of a classification, against full-backward implementations.

    python bench/cam_bench.py --model resnet18 --size 224 --repeats 30

Times (median of ``--repeats``, after ``--warmup``, timed round-robin; one image; all threads):
  classify          forward under inference_mode, what the Classify page runs
  cam layer4        resnet_core.cam: one forward with a hook, autograd.grad back to layer4 only
  cam all stages    resnet_core.cam: layer1..layer4 and all four methods, one forward + one grad
  naive backward    a textbook version: forward hook + tensor hook, loss.backward() through the
                    whole network (every parameter's .grad is computed too)
  pytorch-grad-cam  the reference package's GradCAM on layer4 (also a full loss.backward()),
                    when installed
Random weights: the cost does not depend on what the weights are.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resnet_core.cam import compute_cams, stage_layers  # noqa: E402
from resnet_core.models import create_model  # noqa: E402


def interleaved_ms(fns: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, list[float]]:
    """Milliseconds per call of every function, timed round-robin.

    Interleaving means a burst of load from other processes on a shared machine hits every
    candidate alike, so the ratios stay meaningful even when the absolute times wobble.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e3)
    return times


def naive_gradcam(model: torch.nn.Module, x: torch.Tensor, layer: torch.nn.Module) -> torch.Tensor:
    """Grad-CAM the way most tutorials write it: hooks, then a full loss.backward()."""
    store: dict[str, torch.Tensor] = {}

    def hook(module, inputs, output):
        store["act"] = output
        output.register_hook(lambda g: store.__setitem__("grad", g))

    handle = layer.register_forward_hook(hook)
    try:
        model.zero_grad()
        logits = model(x)
        logits[0, logits[0].argmax()].backward()
    finally:
        handle.remove()
    weights = store["grad"].mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * store["act"]).sum(1, keepdim=True))
    cam = torch.nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return cam.detach()


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown CPU"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{model}; {cores} cores; torch threads {torch.get_num_threads()}; load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--size", type=int, default=224, help="input side, pixels")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch intra-op threads; 0 keeps torch's default (one per core). On a "
                             "machine other jobs keep busy, 1 avoids OpenMP threads waiting on each other")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    model = create_model(args.model).eval()
    x = torch.randn(1, 3, args.size, args.size)
    last = stage_layers(model)[-1]
    print(f"machine: {machine()}")
    print(f"torch {torch.__version__}, {args.model} at {args.size}x{args.size}, one image, "
          f"median of {args.repeats} after {args.warmup} warm-up runs")

    def classify() -> None:
        with torch.inference_mode():
            model(x)

    layer = model.get_submodule(last)
    all_methods = ["gradcam", "gradcam++", "xgradcam", "layercam"]
    fns: dict[str, Callable[[], object]] = {
        "classify (inference_mode forward)": classify,
        f"classify + Grad-CAM at {last}": lambda: compute_cams(model, x, [last], ["gradcam"]),
        "classify + all stages x 4 methods": lambda: compute_cams(model, x, stage_layers(model), all_methods),
        "naive hooks + full loss.backward()": lambda: naive_gradcam(model, x, layer),
    }
    reference = None
    try:
        from pytorch_grad_cam import GradCAM
    except ImportError:
        print("pytorch-grad-cam not installed: reference row skipped (pip install grad-cam)")
    else:
        reference = GradCAM(model=model, target_layers=[layer])
        fns["pytorch-grad-cam GradCAM (full backward)"] = lambda: reference(input_tensor=x, targets=None)
    try:
        times = interleaved_ms(fns, args.repeats, args.warmup)
    finally:
        if reference is not None:
            reference.activations_and_grads.release()
        model.zero_grad(set_to_none=True)

    base = statistics.median(next(iter(times.values())))
    print(f"{'':44s} {'median ms':>10s} {'min ms':>8s} {'x classify':>11s}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:44s} {med:10.1f} {min(values):8.1f} {med / base:11.2f}")
    print(f"machine after: load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
