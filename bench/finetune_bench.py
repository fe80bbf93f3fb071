"""Fine-tuning speed and accuracy (issue #9). Run it under the shared CPU lock:

    flock /tmp/cpu.lock python bench/finetune_bench.py --threads 2

Speed: 100 generated 640x480 JPEG pictures (2 classes) in a temporary folder, end to end as the
CLI does it: read and decode (``read_folder``), load the backbone, features, head. For each
backbone: the linear probe, the last-stage mode, and the baseline, **every layer fine-tuned for
one epoch** (SGD, train mode, batch 32, the same 80 training pictures), all in the same run.
The ImageNet ResNet-18 uses *random* weights written into a temporary torch hub cache where the
IMAGENET1K_V1 file would be (the real file cannot be downloaded here): the time does not depend
on the weights' values.

Accuracy: ``--per-class`` CIFAR-10 test images of each of ``--classes`` saved as PNG files, read
back like a user's folder, shipped backbone, held-out accuracy over ``--seeds`` splits. These
are classes the shipped backbone was trained on (CIFAR-10's training split), so this says the
pipeline works on real pictures, not how it transfers to new classes.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pictures import shape_picture  # noqa: E402

from resnet_core.augment import normalize  # noqa: E402
from resnet_core.finetune import Backbone, FinetuneConfig, _new_model, _views, finetune, load_backbone  # noqa: E402
from resnet_core.userdata import PictureSet, read_folder, stratified_split  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads, load {load}"


def write_pictures(root: Path, n: int) -> Path:
    """``n`` generated 640x480 JPEGs, half circles, half squares, in class folders."""
    for i in range(n):
        kind = ("circle", "square")[i % 2]
        (root / kind).mkdir(parents=True, exist_ok=True)
        (root / kind / f"{i}.jpg").write_bytes(shape_picture(kind, i, size=(640, 480), fmt="JPEG"))
    return root


def full_finetune_epoch(pictures: PictureSet, backbone: Backbone, seed: int = 0) -> float:
    """Seconds for one epoch of training every layer: the baseline the linear probe replaces."""
    train_idx, _ = stratified_split(pictures, 0.2, seed)
    items = pictures.items()
    t0 = time.perf_counter()
    views = _views([items[i][0] for i in train_idx], backbone)
    labels = torch.tensor([items[i][1] for i in train_idx])
    model = _new_model(backbone, len(pictures.classes)).train()
    for p in model.parameters():
        p.requires_grad_(True)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    for idx in torch.randperm(len(views), generator=torch.Generator().manual_seed(seed)).split(32):
        loss = F.cross_entropy(model(normalize(views[idx], backbone.mean, backbone.std)), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def speed(folder: Path, name: str, repeats: int) -> dict[str, float]:
    """Median seconds of each stage, end to end, over ``repeats`` runs."""
    rows: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)

    for _ in range(repeats):
        t0 = time.perf_counter()
        pictures = read_folder(folder)
        t1 = time.perf_counter()
        backbone = load_backbone(name)
        t2 = time.perf_counter()
        linear = finetune(pictures, backbone, FinetuneConfig(mode="linear"))
        t3 = time.perf_counter()
        add("decode", t1 - t0)
        add("load backbone", t2 - t1)
        add("features", linear.feature_seconds)
        add("head (30 epochs)", linear.seconds - linear.feature_seconds)
        add("linear probe, end to end", t3 - t0)
        t4 = time.perf_counter()
        finetune(pictures, backbone, FinetuneConfig(mode="last-stage"))
        add("last stage (30 head + 5 stage epochs), after decode", time.perf_counter() - t4)
        add("every layer, 1 epoch, after decode", full_finetune_epoch(pictures, backbone))
    return {k: statistics.median(v) for k, v in rows.items()}


def accuracy(classes: list[str], per_class: int, seeds: int, mode: str) -> list[float]:
    from PIL import Image

    from resnet_core.data import load_cifar10

    test = load_cifar10(split="test")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in classes:
            label = test.classes.index(name)
            chosen = (test.labels == label).nonzero().flatten()[:per_class]
            (root / name).mkdir()
            for i in chosen.tolist():
                Image.fromarray(test.images[i].permute(1, 2, 0).numpy()).save(root / name / f"{i}.png")
        pictures = read_folder(root)
        backbone = load_backbone("shipped")
        return [finetune(pictures, backbone, FinetuneConfig(mode=mode, seed=s)).val_acc for s in range(seeds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--pictures", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--classes", nargs="+", default=["airplane", "cat", "dog", "ship"])
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit: {commit}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        torch.hub.set_dir(str(tmp_path / "hub"))  # random resnet18 weights where V1's file would be
        import torchvision

        torch.manual_seed(0)
        (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
        torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
        folder = write_pictures(tmp_path / "pictures", args.pictures)
        # Warm up oneDNN's kernels for both input sizes so the first timed run is not penalised.
        warm = read_folder(folder)
        for name in ("shipped", "resnet18"):
            finetune(warm, load_backbone(name), FinetuneConfig(epochs=1))
        print(f"\n### Speed: {args.pictures} pictures (640x480 JPEG), median of {args.repeats}\n")
        results = {name: speed(folder, name, args.repeats) for name in ("shipped", "resnet18")}
        print("| stage (s) | shipped (resnet9_w24, 32 px) | resnet18, 224 px (random weights) |")
        print("|---|---:|---:|")
        for key in results["shipped"]:
            print(f"| {key} | {results['shipped'][key]:.2f} | {results['resnet18'][key]:.2f} |")
        for name, r in results.items():
            probe = r["features"] + r["head (30 epochs)"]
            print(f"\n{name}: every layer for 1 epoch / linear probe (features + head) = "
                  f"{r['every layer, 1 epoch, after decode'] / probe:.1f}x; "
                  f"end to end incl. decode: {(r['decode'] + r['every layer, 1 epoch, after decode']) / r['linear probe, end to end']:.2f}x")

    print(f"\n### Accuracy: CIFAR-10 test images, {args.per_class} per class of {', '.join(args.classes)}, "
          f"shipped backbone, {args.seeds} seeds, 20% held out per class\n")
    for mode in ("linear", "last-stage"):
        accs = accuracy(args.classes, args.per_class, args.seeds, mode)
        print(f"{mode}: held-out accuracy mean {statistics.mean(accs):.3f}, min {min(accs):.3f}, max {max(accs):.3f} "
              f"({', '.join(f'{a:.3f}' for a in accs)})")


if __name__ == "__main__":
    main()
