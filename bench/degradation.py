"""The degradation race's goal, measured: gaps, steps per network and wall time for several seeds.

Runs ``python -m resnet_core experiment degradation`` once per seed, as a user would (a fresh
process: imports, data loading and every evaluation count in the wall time), then times a few race
steps in this process: at the quick scale with the networks one after another on one thread (the
baseline that says what the parallel workers gain) and on one worker per core (the default), and
at the paper scale (the baseline that says how much the quick scale saves). Prints a Markdown block for bench/RESULTS.md with the machine::

    OMP_WAIT_POLICY=PASSIVE python bench/degradation.py --data-dir ../shared/data --seeds 0 1 2

Goal (issue 18, item 2): with the defaults on 2 quiet AVX2 cores, within 90 s of wall time,
plain-56's training error at least 10 points above plain-20's and ResNet-56's at least 10 points
below plain-56's, for seeds 0 and 1 (issue 7's goal was 240 s).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_core.cli.machine import machine_words  # noqa: E402
from results import machine_text  # noqa: E402

GOAL_S = 90.0
GOAL_GAP = 0.10


def run_seed(seed: int, data_dir: str | None, extra: list[str]) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "resnet_core", "experiment", "degradation", "--seed", str(seed), "--device", "cpu",
           "--quiet", *(["--data-dir", data_dir] if data_dir else ["--synthetic"]), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def seconds_per_step(scale: str, steps: int = 4, workers: int | None = None) -> float:
    """Mean seconds of one race step (all three networks) at ``scale``, on random images.

    ``workers=1`` runs the networks one after another on one thread; None: the race's default.
    """
    import torch

    import resnet_core.race as race_module
    from resnet_core.data import ImageDataset
    from resnet_core.device import usable_cpus
    from resnet_core.lessons import DEGRADATION
    from resnet_core.race import Race

    race_module.usable_cpus = (lambda: workers) if workers else usable_cpus  # type: ignore[assignment]

    cfg = DEGRADATION.config(scale, device="cpu", steps=steps + 1)
    n, side = 512, cfg.resolution
    fake = ImageDataset(torch.randint(0, 256, (n, 3, side, side), dtype=torch.uint8), torch.randint(0, 10, (n,)),
                        tuple(str(i) for i in range(10)), True, "random")
    race = Race(cfg, train_data=fake, test_data=fake)
    try:
        race.setup()
        race.step(0)  # warm-up: oneDNN picks its kernels on the first call
        t0 = time.perf_counter()
        for s in range(1, steps + 1):
            race.step(s)
        return (time.perf_counter() - t0) / steps
    finally:
        race.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("RESNET_DATA_DIR"), help="CIFAR-10 (else synthetic)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more options for the CLI")
    args = parser.parse_args()

    machine = machine_words()
    print(f"machine: {machine}; load average before: {os.getloadavg()}", file=sys.stderr)
    rows = []
    for seed in args.seeds:
        summary, wall = run_seed(seed, args.data_dir, args.extra)
        err = {r["label"]: r["train_error"] for r in summary["runs"]}
        steps = {r["label"]: r["steps"] for r in summary["runs"]}
        degradation = err["plain-56"] - err["plain-20"]
        fix = err["plain-56"] - err["ResNet-56"]
        ok = wall <= GOAL_S and degradation >= GOAL_GAP and fix >= GOAL_GAP
        rows.append((seed, err, steps, degradation, fix, wall, ok, os.getloadavg()[0]))
        print(f"seed {seed}: {json.dumps(summary)}", file=sys.stderr)
    serial = seconds_per_step("quick", workers=1)
    quick = seconds_per_step("quick")
    paper = seconds_per_step("paper", steps=2)

    print(f"\nMachine: {machine_text(machine)}, "
          f"torch {machine['torch']}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    print(f"Data: {summary['data'].split(' at ')[0] if args.data_dir else 'synthetic shapes (not CIFAR-10)'}\n")
    print("| seed | plain-20 | plain-56 | ResNet-56 | plain-56 − plain-20 | plain-56 − ResNet-56 | "
          "steps each | wall (s) | goal met | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seed, err, steps, degradation, fix, wall, ok, load in rows:
        print(f"| {seed} | {err['plain-20']:.1%} | {err['plain-56']:.1%} | "
              f"{err['ResNet-56']:.1%} | {100 * degradation:+.1f} pts | {100 * fix:+.1f} pts | "
              f"{sorted(set(steps.values()))} | {wall:.0f} | {'yes' if ok else 'NO'} | {load:.2f} |")
    print(f"\nTraining error = mean mini-batch error over the last 10% of each network's steps. Wall time is "
          f"the whole command (start-up, data, training, every evaluation); goal {GOAL_S:.0f} s.")
    print(f"Baselines in the same run: one race step (all three networks) at the quick scale takes {serial:.3f} s "
          f"one network after another on one thread and {quick:.3f} s on the default workers "
          f"({serial / quick:.2f}x faster); {paper:.3f} s at the paper scale: the quick scale is "
          f"{paper / quick:.1f}x cheaper per step.")


if __name__ == "__main__":
    main()
