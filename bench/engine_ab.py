"""Before against after: the race and a fixed-budget CPU run from two checkouts, alternating.

Issue 20 asks that the training-engine refactor costs no speed. Each measurement is a fresh
``python -m resnet_core`` process, run as a user would, from the ``--before`` checkout and the
``--after`` checkout in turn (A B A B ...), so both see the same machine load. The ratios are the
result; the seconds are only valid on the machine they were measured on::

    git worktree add /tmp/before <old-commit>
    python bench/engine_ab.py --before /tmp/before --after . --data-dir ../shared/data --rounds 1

Reported: the race's wall time (the whole command, data loading and evaluations included), and
for the single run the training images per second over its budget and its test accuracy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from appserver import report  # noqa: E402  (bench/ is not a package)


def run(checkout: Path, args: list[str]) -> tuple[dict, float]:
    """One CLI process in ``checkout``: its last JSON line and its wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "resnet_core", *args], cwd=checkout, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):  # 3: the run diverged, which is a result, not a crash
        raise SystemExit(f"{checkout}: {' '.join(args)} exited {proc.returncode}\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the baseline commit")
    parser.add_argument("--after", type=Path, default=ROOT, help="checkout of the changed code")
    parser.add_argument("--data-dir", required=True, help="cifar-10-batches-py or its parent")
    parser.add_argument("--rounds", type=int, default=1, help="A/B pairs of each measurement")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds of the single CPU run")
    parser.add_argument("--race-steps", type=int, default=None, help="race steps (default: the race's own)")
    parser.add_argument("--no-append", action="store_true", help="print, do not append to bench/RESULTS.md")
    args = parser.parse_args()

    race = ["experiment", "degradation", "--device", "cpu", "--quiet", "--seed", "0", "--data-dir", args.data_dir]
    if args.race_steps:
        race += ["--steps", str(args.race_steps)]
    single = ["train", "--device", "cpu", "--budget", str(args.budget), "--seed", "0", "--data-dir", args.data_dir]
    seen: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for _ in range(args.rounds):
        for side, checkout in (("before", args.before), ("after", args.after)):
            _, wall = run(checkout, race)
            seen[side].setdefault("race_s", []).append(wall)
            out, _ = run(checkout, single)
            seen[side].setdefault("images_per_s", []).append(out["images_per_second"])
            seen[side].setdefault("test_acc", []).append(out["test_acc"])
            print(side, {k: v[-1] for k, v in seen[side].items()}, file=sys.stderr, flush=True)

    table = ["| measure (median) | before | after | after / before |", "|---|---:|---:|---:|"]
    for key, label in (("race_s", "race wall time (s)"), ("images_per_s", "single run, images/s"),
                       ("test_acc", "single run, test accuracy")):
        b, a = statistics.median(seen["before"][key]), statistics.median(seen["after"][key])
        table.append(f"| {label} | {b:.4g} | {a:.4g} | {a / b:.3f} |")
    commits = {side: subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True).stdout.strip() for side, path in (("before", args.before),
                                                                                 ("after", args.after))}
    notes = [f"before: {commits['before']}, after: {commits['after']}, {args.rounds} round(s), alternating",
             "every value: " + "; ".join(f"{side} {key} {seen[side][key]}" for side in seen for key in seen[side])]
    report("bench/engine_ab.py", "## Training engine, before and after",
           "The race and a fixed-budget CPU run from two checkouts, alternating (`bench/engine_ab.py`, issue 20).",
           notes, table, append=not args.no_append)

if __name__ == "__main__":
    main()
