"""How long the live degradation race must be: its two gaps after every candidate length, per seed.

A quick race of N steps is exactly the first N steps of a longer one: the learning rate is 0.1
for the first 1,000 steps of the 2,000-step schedule, the mini-batches come from the same seeded
generators, and evaluations change nothing. So one race of ``--steps`` steps per seed gives the
verdict every shorter race would have reached: the training error over the last 10 % of its N
steps (:func:`resnet_core.race.train_window`), as the live race computes it::

    OMP_WAIT_POLICY=PASSIVE python bench/race_length.py --data-dir ../shared/data --seeds 0 1 2 3 4 5

It prints a Markdown table for bench/RESULTS.md with the machine: per length, the smallest of
each gap over the seeds (plain-56 above plain-20, ResNet-56 below plain-56; goal >= 10 points)
and the race's own seconds to that step.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import resnet_core  # noqa: E402,F401  (sets the OpenMP wait policy before torch loads)
from resnet_core.cli.machine import machine_words  # noqa: E402
from resnet_core.lessons import DEGRADATION  # noqa: E402
from resnet_core.race import Race, RaceMetrics, RaceStep, train_window  # noqa: E402
from results import machine_text  # noqa: E402

GOAL_GAP = 0.10


def race_errors(seed: int, steps: int, data_dir: str) -> tuple[list[tuple[float, ...]], list[float]]:
    """Per-step training errors (one tuple per step, in contender order) and the race's elapsed seconds."""
    errors: list[tuple[float, ...]] = []
    elapsed: list[float] = []

    def record(m: RaceMetrics) -> None:
        if isinstance(m, RaceStep):
            errors.append(m.error)
            elapsed.append(m.elapsed_s)

    Race(DEGRADATION.config("quick", device="cpu", seed=seed, data_dir=data_dir, steps=steps), callback=record).run()
    return errors, elapsed


def gaps_at(errors: list[tuple[float, ...]], n: int, labels: list[str]) -> tuple[float, float]:
    """(plain-56 - plain-20, plain-56 - ResNet-56) for a race of ``n`` steps, in fractions."""
    window = errors[n - train_window(n) : n]
    mean = {label: sum(e[i] for e in window) / len(window) for i, label in enumerate(labels)}
    return mean["plain-56"] - mean["plain-20"], mean["plain-56"] - mean["ResNet-56"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("RESNET_DATA_DIR"), required=not os.environ.get("RESNET_DATA_DIR"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--steps", type=int, default=300, help="the longest length to judge")
    parser.add_argument("--lengths", type=int, nargs="+", default=[150, 175, 200, 225, 250, 275, 300])
    args = parser.parse_args()
    labels = [c.label for c in DEGRADATION.contenders]
    lengths = [n for n in args.lengths if n <= args.steps]
    runs = {}
    for seed in args.seeds:
        t0 = time.perf_counter()
        runs[seed] = race_errors(seed, args.steps, args.data_dir)
        print(f"seed {seed}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)

    m = machine_words()
    print(f"Machine: {machine_text(m)}, torch {m['torch']}\n")
    print(f"Command: `OMP_WAIT_POLICY=PASSIVE python bench/race_length.py --seeds {' '.join(map(str, args.seeds))}`\n")
    head = " | ".join(f"seed {s}" for s in args.seeds)
    print(f"| steps | {head} | smallest gaps | race's own s to this step (mean) |")
    print("|---:|" + "---|" * len(args.seeds) + "---|---:|")
    for n in lengths:
        gaps = [gaps_at(runs[s][0], n, labels) for s in args.seeds]
        cells = " | ".join(f"{a * 100:+.1f} / {b * 100:+.1f}" for a, b in gaps)
        low = (min(a for a, _ in gaps), min(b for _, b in gaps))
        ok = "met" if min(low) >= GOAL_GAP else "not met"
        secs = sum(runs[s][1][n - 1] for s in args.seeds) / len(args.seeds)
        print(f"| {n} | {cells} | {low[0] * 100:+.1f} / {low[1] * 100:+.1f} ({ok}) | {secs:.1f} |")
    print("\nEach cell: plain-56 minus plain-20, plain-56 minus ResNet-56, training error over the last 10 % "
          "of the steps, in points (offline CIFAR-10 copy).")


if __name__ == "__main__":
    main()
