"""CIFAR-10 on a CPU in a fixed time budget: our default recipe against the tutorial loop.

(a) ``TrainConfig.for_device("cpu")`` with ``budget_s``: data as one in-memory uint8 tensor,
    batched augmentation, narrow ResNet-9, bf16 autocast where the CPU supports it.
(b) The loop the well-known tutorials teach (PyTorch's CIFAR-10 tutorial, kuangliu/pytorch-cifar):
    a Dataset of PIL images with per-image transforms in a DataLoader, ResNet-18 (CIFAR stem),
    SGD lr 0.1, momentum 0.9, weight decay 5e-4, fp32. torchvision.datasets.CIFAR10 refuses the
    offline copy (md5 check), so a small Dataset serves the same uint8 arrays as PIL images.

Both train for the same wall-clock budget; evaluation on the full 10,000-image test set is not
counted. Usage::

    python bench/train_cpu.py                 # 120 s each, appends to bench/RESULTS.md
    python bench/train_cpu.py --quick         # smoke run: 10 s each, 1,000 test images, no append
    python bench/train_cpu.py --variant '{"batch_size": 128}' --variant '{"train_size": 24}'
                                              # the default recipe, then each variant of it, 120 s each
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_core.cifar10 import MEAN, STD  # noqa: E402
from resnet_core.data import ImageDataset, load_cifar10, stratified_subset  # noqa: E402
from resnet_core.models import create_model  # noqa: E402
from resnet_core.train import TrainConfig, Trainer  # noqa: E402

# The tutorial baseline's hyperparameters (kuangliu/pytorch-cifar main.py).
BASELINE_MODEL = "resnet18_cifar"
BASELINE_BATCH = 128  # images per step
BASELINE_LR = 0.1  # constant within a 2-minute budget (their cosine schedule spans 200 epochs)
BASELINE_MOMENTUM = 0.9
BASELINE_WEIGHT_DECAY = 5e-4
BASELINE_WORKERS = 2  # DataLoader worker processes


class PILDataset(Dataset):
    """The tutorial's view of the data: one PIL image at a time through ``transform``."""

    def __init__(self, data: ImageDataset, transform: object) -> None:
        self.images = data.images.permute(0, 2, 3, 1).numpy()  # HWC uint8, as PIL wants
        self.labels = data.labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), self.labels[i]  # type: ignore[operator]


def run_baseline(
    train: ImageDataset, test: ImageDataset, budget_s: float, workers: int = BASELINE_WORKERS
) -> dict[str, float]:
    """Train the tutorial loop for ``budget_s`` seconds; return accuracy and throughput."""
    import torchvision.transforms as T

    torch.manual_seed(0)
    train_tf = T.Compose(
        [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)]
    )
    test_tf = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])
    train_loader = DataLoader(
        PILDataset(train, train_tf), batch_size=BASELINE_BATCH, shuffle=True, num_workers=workers
    )
    test_loader = DataLoader(PILDataset(test, test_tf), batch_size=100, num_workers=workers)
    model = create_model(BASELINE_MODEL)
    opt = torch.optim.SGD(
        model.parameters(), lr=BASELINE_LR, momentum=BASELINE_MOMENTUM, weight_decay=BASELINE_WEIGHT_DECAY
    )
    model.train()
    images, start, done = 0, time.perf_counter(), False
    while not done:
        for x, y in train_loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            images += len(y)
            if time.perf_counter() - start >= budget_s:
                done = True
                break
    train_s = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in test_loader:
            correct += int((model(x).argmax(1) == y).sum())
    return {"test_acc": correct / len(test), "train_seconds": train_s, "images_per_second": images / train_s}


def measure_throughput(name: str, precision: str, batch_size: int, seconds: float = 8.0) -> float:
    """Training images/s of a registered model: forward + backward + SGD step, channels_last."""
    torch.manual_seed(0)
    model = create_model(name).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    x = torch.randn(batch_size, 3, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch_size,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):  # oneDNN builds its kernels for new shapes on the first calls
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * batch_size / (time.perf_counter() - start)


def throughput_table(models: list[str], batch_sizes: list[int]) -> list[str]:
    """Markdown rows: images/s for each model, batch size and precision on this CPU."""
    rows = ["| model | batch | fp32 img/s | bf16 img/s | load before |", "|---|---|---|---|---|"]
    for name in models:
        for bs in batch_sizes:
            before = load()
            fp32 = measure_throughput(name, "fp32", bs)
            bf16 = measure_throughput(name, "bf16", bs)
            rows.append(f"| {name} | {bs} | {fp32:.0f} | {bf16:.0f} | {before} |")
            print(rows[-1], flush=True)
    return rows


def machine() -> str:
    """CPU model, usable cores and the load average, for the results table."""
    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores"


def cpu_words() -> str:
    """The instruction-set facts the CPU recipe is chosen by."""
    from resnet_core.device import cpu_features

    return str(cpu_features())


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def append_to_section(text: str, heading: str, entry: str) -> str:
    """``text`` with ``entry`` at the end of the section under ``heading`` (created if missing).

    Other engineers keep their own sections in the same file; entries go before the next one.
    """
    if heading not in text:
        return text.rstrip("\n") + f"\n\n{heading}\n\nCIFAR-10 in a fixed CPU time budget, `bench/train_cpu.py`.\n" + entry
    start = text.index(heading) + len(heading)
    nxt = text.find("\n## ", start)
    if nxt == -1:
        return text.rstrip("\n") + "\n" + entry
    return text[:nxt].rstrip("\n") + "\n" + entry + text[nxt:]


def run_variants(
    variants: list[dict[str, object]], train: ImageDataset, test: ImageDataset, budget: float, args: argparse.Namespace
) -> list[str]:
    """The default recipe, then each variant of it (TrainConfig overrides), one budget each; table rows."""
    base = dataclasses.replace(TrainConfig.for_device("cpu"), epochs=None, budget_s=budget, data_dir=args.data_dir, seed=args.seed)
    if args.epochs:  # a fixed amount of training instead of a fixed time: load on the machine cannot change it
        base = dataclasses.replace(base, budget_s=None, epochs=args.epochs, eval_every_epoch=False)
    rows = [
        "| recipe | test acc | images/s | full epochs | load before |",
        "|---|---:|---:|---:|---|",
    ]
    for changes in [{}, *variants]:
        config = dataclasses.replace(base, **changes)
        if "epochs" in changes:
            config = dataclasses.replace(config, budget_s=None, eval_every_epoch=False)
        before = load()
        out = Trainer(config, train_data=train, test_data=test).run().summary()
        label = "default: " + recipe_words(config) if not changes else json.dumps(changes)
        rows.append(f"| {label} | {out['test_acc']:.2%} | {out['images_per_second']:.0f} | "
                    f"{out['epochs_completed']} | {before} |")
        print(rows[-1], flush=True)
    return rows


def recipe_words(config: TrainConfig) -> str:
    """E.g. "resnet9_w16, batch 256, lr 0.3, fp32" for the results table."""
    from resnet_core.train import resolve_precision

    size = f", {config.train_size} px crops" if config.train_size else ""
    precision = resolve_precision(config.precision, torch.device("cpu"))
    return f"{config.model}, batch {config.batch_size}, lr {config.lr}{size}, {precision}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds per recipe")
    parser.add_argument("--data-dir", default=None, help="cifar-10-batches-py or its parent ($RESNET_DATA_DIR)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 s budgets, 1,000 test images")
    parser.add_argument("--skip-baseline", action="store_true", help="only run our recipe")
    parser.add_argument("--skip-ours", action="store_true", help="only run the tutorial baseline")
    parser.add_argument("--baseline-workers", type=int, default=BASELINE_WORKERS, help="DataLoader workers (b)")
    parser.add_argument("--seed", type=int, default=0, help="seed of our recipe")
    parser.add_argument("--no-append", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--epochs", type=float, default=None,
                        help="with --variant: train this many epochs instead of --budget seconds")
    parser.add_argument(
        "--variant", action="append", type=json.loads, default=[], metavar="JSON",
        help="instead of the baseline: run the default recipe, then it with these TrainConfig changes (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--throughput", nargs="*", metavar="MODEL", default=None,
        help="instead: measure fp32 vs bf16 training images/s of these models (default: the CIFAR ResNet-9s)",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if args.throughput is not None:
        models = args.throughput or ["resnet9_w16", "resnet9_w24", "resnet20"]
        rows = throughput_table(models, [256, 512])
        if not args.no_append:
            command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT), *sys.argv[1:]])
            entry = (
                f"\n### {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, training throughput, fp32 vs bf16\n\n"
                f"- Machine: {machine()}; torch {torch.__version__}; {torch.get_num_threads()} threads\n"
                f"- Command: `{command}`\n\n" + "\n".join(rows) + "\n"
            )
            results = ROOT / "bench" / "RESULTS.md"
            results.write_text(append_to_section(results.read_text() if results.exists() else "# Benchmarks\n",
                                                 "## Training", entry))
        return
    budget = 10.0 if args.quick else args.budget
    test_n = 1_000 if args.quick else None

    train = load_cifar10(args.data_dir, split="train")
    test = stratified_subset(load_cifar10(args.data_dir, split="test"), test_n)
    load_before = load()
    print(f"{machine()}; load {load_before}; torch {torch.__version__}; {len(test):,} test images", flush=True)

    if args.variant:
        rows = run_variants(args.variant, train, test, budget, args)
        if not (args.quick or args.no_append):
            command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT), *sys.argv[1:]])
            entry = (
                f"\n### {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, recipe variants, "
                f"{f'{args.epochs:g} epochs' if args.epochs else f'{budget:.0f} s'} each (unless the variant says)\n\n"
                f"- Machine: {machine()}; {cpu_words()}; torch {torch.__version__}; load after {load()}\n"
                f"- Command: `{command}`\n"
                f"- Test set: {len(test):,} images of the offline CIFAR-10 copy, mirror TTA\n\n" + "\n".join(rows) + "\n"
            )
            results = ROOT / "bench" / "RESULTS.md"
            results.write_text(append_to_section(results.read_text(), "## Training", entry))
        return

    config = dataclasses.replace(
        TrainConfig.for_device("cpu"), epochs=None, budget_s=budget, data_dir=args.data_dir, seed=args.seed
    )
    ours = None
    if not args.skip_ours:
        result = Trainer(config, train_data=train, test_data=test).run()
        ours = result.summary()
        print(f"(a) ours: {ours}", flush=True)

    base = None
    if not args.skip_baseline:
        base = run_baseline(train, test, budget, workers=args.baseline_workers)
        print(f"(b) tutorial baseline: {base}", flush=True)
    if ours is not None and base is not None:
        print(
            f"accuracy {ours['test_acc']:.2%} vs {base['test_acc']:.2%}; "
            f"throughput ratio {ours['images_per_second'] / base['images_per_second']:.1f}x",
            flush=True,
        )
    load_after = load()

    if args.quick or args.no_append:
        return
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    lines = [
        f"\n### {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {budget:.0f} s budget\n",
        f"- Machine: {machine()}; load average (1/5/15 min) {load_before} before, {load_after} after; "
        f"torch {torch.__version__}",
        f"- Command: `{command}`",
        f"- Test set: all {len(test):,} images of the offline CIFAR-10 copy (evaluation time not counted)",
    ]
    if ours is not None:
        lines.append(
            f"- (a) `TrainConfig.for_device('cpu')` ({config.model}, batch {config.batch_size}, "
            f"{ours['precision']}, {config.schedule} lr {config.lr}, seed {config.seed}): **{ours['test_acc']:.2%}** "
            f"on the offline CIFAR-10 copy, {ours['images_per_second']:.0f} images/s, "
            f"{ours['epochs_completed']} full epochs, {ours['train_seconds']:.1f} s"
        )
    if base is not None:
        lines += [
            f"- (b) tutorial loop ({BASELINE_MODEL}, DataLoader with {args.baseline_workers} workers, per-image PIL "
            f"transforms, SGD lr {BASELINE_LR}, fp32): **{base['test_acc']:.2%}** on the offline CIFAR-10 copy, "
            f"{base['images_per_second']:.0f} images/s, {base['train_seconds']:.1f} s",
        ]
    if ours is not None and base is not None:
        lines.append(f"- Throughput ratio (a)/(b): {ours['images_per_second'] / base['images_per_second']:.1f}x")
    results = ROOT / "bench" / "RESULTS.md"
    if not results.exists():
        results.write_text("# Benchmarks\n")
    results.write_text(append_to_section(results.read_text(), "## Training", "\n".join(lines) + "\n"))
    print(f"appended to {results}")


if __name__ == "__main__":
    main()
