"""The Why-it-works experiments' goals, measured: CLI wall time, and what each costs over its bare compute.

Runs ``python -m resnet_core experiment gradient-flow | shattered | lesion`` as a user would (a
fresh process: imports, data loading and all), ``--repeats`` times each, round-robin so a burst of
load from other users hits every command alike. The baseline, measured in this process, is the
compute an experiment cannot avoid: one forward+backward pass per network for gradient-flow (its
probe batch) and shattered (its 256 points), one eval pass of the pair for lesion; the ratio says
how many such passes the experiment costs. Prints a Markdown block for bench/RESULTS.md::

    OMP_WAIT_POLICY=PASSIVE flock /tmp/cpu.lock python bench/insight_bench.py --data-dir ../shared/data
    OMP_WAIT_POLICY=PASSIVE flock /tmp/cpu.lock python bench/insight_bench.py --data-dir ../shared/data --page

Goals (issue 8), 2 CPU cores: gradient-flow and shattered each under 10 s wall for three depths,
lesion under 60 s on 1,000+ test images.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from resnet_core.cli.machine import machine_words  # noqa: E402
from results import machine_text  # noqa: E402
from resnet_core.insight.nets import SCALES, build_net  # noqa: E402
from resnet_core.insight.probe import eval_split, make_probe  # noqa: E402
from resnet_core.insight.trained import load_race_net  # noqa: E402

DEPTHS = (20, 56, 110)
GOALS = {"gradient-flow": 10.0, "shattered": 10.0, "lesion": 60.0}


def cli(name: str, data_dir: str | None, scale: str) -> tuple[float, dict]:
    """Wall seconds of one CLI run, and its JSON line."""
    data = ["--data-dir", data_dir] if data_dir else ["--synthetic"]
    extra = [] if name == "lesion" else ["--scale", scale]
    cmd = [sys.executable, "-m", "resnet_core", "experiment", name, *data, *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - t0, json.loads(proc.stdout.strip().splitlines()[-1])


def bare_passes(data_dir: str | None, scale_name: str) -> dict[str, float]:
    """Seconds of the unavoidable compute of each experiment (median of 3), in this process."""
    scale = SCALES[scale_name]
    dataset = eval_split(data_dir, synthetic=data_dir is None)
    probe = make_probe(dataset, 128, input_size=scale.resolution)
    line = probe.images[:1].expand(256, -1, -1, -1).clone()
    nets = [build_net(d, r, scale=scale) for d in DEPTHS for r in (False, True)]

    def fwd_bwd(x: torch.Tensor, y: torch.Tensor | None) -> None:
        for net in nets:
            x = x.detach().requires_grad_(y is None)
            out = net(x)
            loss = F.cross_entropy(out, y) if y is not None else out[:, 0].sum()
            loss.backward()

    lesion_probe = make_probe(dataset, 1000, input_size=16)
    pair = [load_race_net(label).model for label in ("plain56", "resnet56")]

    def eval_pass() -> None:
        with torch.inference_mode():
            for net in pair:
                for x in lesion_probe.images.split(500):
                    net(x)

    timings = {}
    for name, fn in (("gradient-flow", lambda: fwd_bwd(probe.images, probe.labels)),
                     ("shattered", lambda: fwd_bwd(line, None)), ("lesion", eval_pass)):
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        timings[name] = statistics.median(runs)
    return timings


def page_costs(data_dir: str | None) -> None:
    """What each page action computes before it is cached, with the page's settings (median of 3)."""
    from resnet_core.insight.runs import gradient_flow_runs, landscape_run, lesion_run, responses_run, shattered_runs

    dataset = eval_split(data_dir, synthetic=data_dir is None)
    quick = SCALES["quick"]
    p128, p250, p256, p500, p1000 = (make_probe(dataset, n, input_size=16) for n in (128, 250, 256, 500, 1000))
    shipped = {label: load_race_net(label) for label in ("plain20", "plain56", "resnet20", "resnet56")}
    pair = [shipped["plain56"], shipped["resnet56"]]

    def median_s(fn) -> float:
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        return statistics.median(runs)

    def bare() -> None:
        with torch.inference_mode():
            for ckpt in pair:
                ckpt.model(p1000.images)

    base = median_s(bare)
    actions = {
        "gradient flow, depths 20/56/110, plain + residual (128 images)":
            lambda: gradient_flow_runs(DEPTHS, p128, scale=quick),
        "shattered gradients, depths 20/56/110, plain + residual (256 points)":
            lambda: shattered_runs(DEPTHS, p128, scale=quick),
        "lesion study, plain-56 + ResNet-56, 250 images, one draw per deletion count":
            lambda: [lesion_run(c, p250, trials=1, steps=5) for c in pair],
        "layer responses, the four shipped nets, 500 images":
            lambda: [responses_run(c, p500) for c in shipped.values()],
        "loss slice, plain-56 + ResNet-56, 17 points, 256 images":
            lambda: [landscape_run(c, p256, points=17) for c in pair],
    }
    print(f"Baseline: one eval pass of plain-56 + ResNet-56 over 1,000 images, {base:.2f} s. Load average "
          f"{os.getloadavg()[0]:.1f}; torch {torch.get_num_threads()} threads.\n")
    print("| page action (first call, before the cache) | seconds, median of 3 | x baseline |")
    print("|---|---:|---:|")
    for name, fn in actions.items():
        seconds = median_s(fn)
        print(f"| {name} | {seconds:.2f} | {seconds / base:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="CIFAR-10; default: synthetic shapes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", choices=list(SCALES), default="quick", help="for gradient-flow and shattered")
    parser.add_argument("--page", action="store_true", help="time the page's actions instead of the CLI")
    args = parser.parse_args()
    if args.page:
        page_costs(args.data_dir)
        return

    load = os.getloadavg()
    walls: dict[str, list[float]] = {name: [] for name in GOALS}
    inner: dict[str, list[float]] = {name: [] for name in GOALS}
    results: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name in GOALS:
            wall, result = cli(name, args.data_dir, args.scale)
            walls[name].append(wall)
            inner[name].append(result["wall_s"])
            results[name] = result
            print(f"{name}: {wall:.1f} s wall", file=sys.stderr, flush=True)
    bare = bare_passes(args.data_dir, args.scale)

    machine = machine_words()
    print(f"Machine: {machine_text(machine)}, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads; load average "
          f"{load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} at the start; OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}.")
    print(f"Data: {results['gradient-flow']['data']}; lesion: {results['lesion']['data']}.\n")
    print("| experiment | CLI wall, median of %d (s) | inside the CLI (s) | goal (s) | bare passes (s) | "
          "inside / bare |" % args.repeats)
    print("|---|---:|---:|---:|---:|---:|")
    for name, goal in GOALS.items():
        wall, in_cli = statistics.median(walls[name]), statistics.median(inner[name])
        scope = "plain56 + resnet56, 1,000 images" if name == "lesion" else f"{args.scale}, depths 20/56/110"
        print(f"| {name} ({scope}) | {wall:.1f} | {in_cli:.1f} | {goal:.0f} | {bare[name]:.2f} | "
              f"{in_cli / bare[name]:.1f} |")
    print()
    for run in results["gradient-flow"]["runs"]:
        print(f"- gradient flow {run['model']} {'residual' if run['residual'] else 'plain'}: "
              f"log10(max/min) {run['log10_spread']:.2f}, first conv {run['relative_grad_norms'][0]:.3g}, "
              f"last {run['relative_grad_norms'][-1]:.3g}")
    for run in results["shattered"]["runs"]:
        print(f"- shattered {run['model']} {'residual' if run['residual'] else 'plain'}: "
              f"neighbour correlation {run['autocorrelation']:.2f}")
    for run in results["lesion"]["runs"]:
        accs = [b["acc"] for b in run["blocks"] if b["acc"] is not None]
        drop = run["baseline_acc"] - sum(accs) / len(accs)
        print(f"- lesion {run['model']} {'residual' if run['residual'] else 'plain'}: intact "
              f"{run['baseline_acc']:.1%}, one block deleted {100 * drop:.1f} points lower on average, "
              f"worst {min(accs):.1%}; all deletable blocks gone: {run['multi'][-1]['acc']:.1%}")


if __name__ == "__main__":
    main()
