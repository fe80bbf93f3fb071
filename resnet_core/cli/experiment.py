"""``python -m resnet_core experiment NAME``: the subcommand, and its degradation race.

``degradation`` is run here; ``gradient-flow``, ``shattered`` and ``lesion`` by
:mod:`resnet_core.cli.insight` (issue 8), whose options this parser also carries.

Progress on stderr, one JSON object as the last line of stdout (errors as fractions in [0, 1]).
``--save-curves`` writes the race's curves (the reference data the Train page draws under a live
race) and ``--save-models`` the trained networks, each with the command, date and machine.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import re
import shlex
import sys
import threading
from pathlib import Path
from typing import Any

from resnet_core.cli import insight
from resnet_core.cli.common import UsageError, ctrl_c_stops, json_safe, say
from resnet_core.cli.machine import machine_words
from resnet_core.lessons import EXPERIMENTS, Experiment, SCALES, Scale
from resnet_core.verdict import data_words, verdict
from resnet_core.race import Race, RaceConfig, RaceEval, RaceMetrics, RaceResult, RaceStep


__all__ = ["add_experiment_parser", "add_race_arguments", "cmd_experiment", "cmd_race", "curves", "public_source",
           "race_summary", "save_models"]


def _race(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        return cmd_race(args, name)

    return run


#: ``experiment NAME`` -> its handler; the why-it-works ones are resnet_core.cli.insight's (issue 8).
_HANDLERS = {"degradation": _race("degradation"), **dict.fromkeys(insight.HANDLERS, insight.run)}


def add_experiment_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``experiment`` subcommand to ``sub`` (the main parser's subparsers)."""
    experiment = sub.add_parser(
        "experiment",
        help="run one of the app's experiments and print its results as one JSON line",
        description="Run an experiment: 'degradation' races plain-20, plain-56, ResNet-20 and ResNet-56 in "
        "lockstep (He et al. 2015, Figures 1 and 6); 'gradient-flow', 'shattered' and 'lesion' show why the "
        "shortcut works (relative gradient norm per conv layer at initialisation; the gradient's neighbour "
        "correlation along a line of inputs, Balduzzi et al. 2017; test accuracy with blocks of the trained "
        "nets deleted, Veit et al. 2016). Progress on stderr, one JSON line on stdout.",
    )
    experiment.add_argument("name", choices=tuple(_HANDLERS), metavar="NAME",
                            help=f"one of: {', '.join(_HANDLERS)}")
    add_race_arguments(experiment)
    insight.add_arguments(experiment, common=False)  # the race's options include the common ones
    return experiment


def cmd_experiment(args: argparse.Namespace) -> int:
    """Run the experiment ``args.name``; a value the configs refuse is a usage error."""
    try:
        return _HANDLERS[args.name](args)
    except ValueError as exc:  # RaceConfig and the options validate themselves
        raise UsageError(str(exc)) from None


def add_race_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``experiment degradation``."""
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--data-dir", type=Path, metavar="DIR",
                      help="CIFAR-10 directory (cifar-10-batches-py or its parent); default: $RESNET_DATA_DIR, "
                      "then the download cache")
    data.add_argument("--synthetic", action="store_true", help="race on generated shapes instead of CIFAR-10")
    parser.add_argument("--scale", choices=tuple(SCALES), default="quick",
                        help="quick: half-width nets on 16x16 images, minutes on a CPU (default); "
                        "paper: the paper's nets and 64,000 steps, for a GPU")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, metavar="N", help="steps per network (default: the scale's)")
    parser.add_argument("--save-curves", type=Path, metavar="JSON",
                        help="write the curves and how they were made (the Train page's reference data)")
    parser.add_argument("--save-models", type=Path, metavar="DIR",
                        help="save each trained network as DIR/<label>.pt with a .json beside it")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _progress(quiet: bool, labels: tuple[str, ...], every: int) -> Any:
    def show(item: RaceMetrics) -> None:
        if quiet:
            return
        if isinstance(item, RaceStep) and (item.step % every == 0 or item.step == 1):
            losses = "  ".join(f"{lab} {loss:.3f}" for lab, loss in zip(labels, item.loss))
            say(f"step {item.step:>6}  lr {item.lr:.3g}  loss: {losses}  {item.elapsed_s:6.1f} s")
        elif isinstance(item, RaceEval) and item.step > 0:
            errors = "  ".join(f"{lab} {err:.1%}" for lab, err in zip(labels, item.error))
            say(f"  test error after {item.step} steps: {errors}")

    return show


def race_summary(experiment: Experiment, scale: Scale, result: RaceResult, seed: int) -> dict[str, Any]:
    """The JSON object the command prints (and the benchmark records)."""
    judged = verdict(experiment, result.results, planned_steps=result.config.steps, data=data_words(result.data))
    return json_safe({
        "experiment": experiment.key,
        "scale": scale.name,
        "device": result.device,
        "data": result.data,
        "seed": seed,
        "wall_s": round(result.wall_s, 1),
        "status": result.status,
        "runs": [
            {
                "label": r.contender.label, "model": r.contender.model, "depth": r.contender.depth,
                "residual": r.contender.residual, "steps": r.steps, "status": r.status,
                "train_error": None if r.train_error is None else round(r.train_error, 4),
                "test_error": None if r.test_error is None else round(r.test_error, 4),
                "message": r.message,
            }
            for r in result.results
        ],
        "verdict": judged.headline,
    })


def curves(history: list[RaceMetrics], labels: tuple[str, ...], every: int = 10) -> dict[str, Any]:
    """Per-network training error (mean of each block of ``every`` steps) and test error at evaluations."""
    steps = [r for r in history if isinstance(r, RaceStep)]
    evals = [r for r in history if isinstance(r, RaceEval)]
    out: dict[str, Any] = {"train_step": [], "test_step": [e.step for e in evals], "runs": {}}
    for start in range(0, len(steps), every):
        out["train_step"].append(steps[min(start + every, len(steps)) - 1].step)
    for i, label in enumerate(labels):
        train = []
        for start in range(0, len(steps), every):
            block = [s.error[i] for s in steps[start : start + every] if math.isfinite(s.error[i])]
            train.append(round(sum(block) / len(block), 4) if block else None)
        test = [round(e.error[i], 4) if math.isfinite(e.error[i]) else None for e in evals]
        out["runs"][label] = {"train_error": train, "test_error": test}
    return out


def public_source(source: str) -> str:
    """A dataset's ``source`` without the folder it was read from: files we ship name no machine's paths."""
    return re.sub(r" at [^),]+", "", source)


def cmd_race(args: argparse.Namespace, name: str) -> int:
    """Run ``experiment NAME`` for a race experiment; the exit code says how it went."""
    experiment = EXPERIMENTS[name]
    scale = SCALES[args.scale]
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be at least 1, got {args.steps}")
    config: RaceConfig = experiment.config(
        args.scale, seed=args.seed, device=args.device, data="synthetic" if args.synthetic else "cifar10",
        data_dir=None if args.data_dir is None else str(args.data_dir), steps=args.steps,
    )  # fmt: skip
    labels = tuple(c.label for c in config.contenders)
    if not args.quiet:
        say(f"{experiment.title}: {scale.description}; {config.steps} steps each, seed {args.seed}")
    history: list[RaceMetrics] = []
    show = _progress(args.quiet, labels, every=max(1, config.eval_every // 5))

    def record(item: RaceMetrics) -> None:
        history.append(item)
        show(item)

    stop = threading.Event()
    race = Race(config, callback=record, stop_event=stop)
    with ctrl_c_stops(stop):  # the same Ctrl-C handling as `train`
        result = race.run()
    summary = race_summary(experiment, scale, result, args.seed)
    provenance = {
        "command": "python -m resnet_core " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "date": _dt.date.today().isoformat(),
        "machine": machine_words(),
    }
    if args.save_curves is not None:
        args.save_curves.parent.mkdir(parents=True, exist_ok=True)
        data = {**summary, "data": public_source(result.data), **provenance, "description": scale.description,
                "curves": curves(history, labels)}
        args.save_curves.write_text(json.dumps(data, indent=1) + "\n")
        say(f"saved curves to {args.save_curves}")
    if args.save_models is not None:
        save_models(result, summary, provenance, args.save_models)
    if not args.quiet:
        say(summary["verdict"])
    print(json.dumps(summary), flush=True)
    return 0


def save_models(result: RaceResult, summary: dict[str, Any], provenance: dict[str, Any], folder: Path) -> None:
    """Each trained network as ``<folder>/<label>.pt`` (lower case, no dash) plus a ``.json``."""
    from resnet_core.checkpoint import save_checkpoint
    from resnet_core.cifar10 import CLASSES, MEAN, STD

    folder.mkdir(parents=True, exist_ok=True)
    cfg = result.config
    for r, model, run in zip(result.results, result.models, summary["runs"]):
        stem = r.contender.label.lower().replace("-", "")
        kwargs = {} if cfg.widths is None else {"widths": list(cfg.widths)}
        metrics = {"train_error": run["train_error"], "test_error": run["test_error"], "steps": r.steps,
                   "test_images": cfg.test_subset or 10_000}
        save_checkpoint(folder / f"{stem}.pt", model, model_name=r.contender.model, residual=r.contender.residual,
                        classes=CLASSES, mean=MEAN, std=STD, input_size=cfg.resolution,
                        config={"race": {k: v for k, v in vars(cfg).items() if k != "contenders"}},
                        metrics=metrics, model_kwargs=kwargs)
        meta = {"label": r.contender.label, **metrics, **provenance, "seed": cfg.seed,
                "data": public_source(result.data)}
        (folder / f"{stem}.json").write_text(json.dumps(json_safe(meta), indent=1) + "\n")
        say(f"saved {folder / stem}.pt")
