"""``python -m resnet_core experiment gradient-flow | shattered | lesion``: the why-it-works experiments.

Progress goes to stderr; the last line of stdout is one JSON object (issue 8):
``{"experiment": "gradient-flow", "runs": [{"model": "resnet56", "residual": false, "layers": [...],
"relative_grad_norms": [...]}, ...]}``, and likewise ``shattered`` (``autocorrelation`` per run) and
``lesion`` (``baseline_acc`` and per-block ``acc``, on the shipped trained pair). Kept apart from
:mod:`resnet_core.cli.experiment`, which owns the ``experiment`` subcommand: :func:`add_arguments` adds these
options to its parser and :func:`run` runs the experiment it names.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resnet_core.checkpoint import CheckpointError
from resnet_core.data import DataError
from resnet_core.insight.nets import SCALES, InsightError, paper_depths
from resnet_core.insight.probe import eval_split, make_probe
from resnet_core.insight.specs import EXPERIMENTS
from resnet_core.insight.trained import RACE_NETS, load_race_net, trained_on_synthetic

EXIT_OK, EXIT_ERROR = 0, 1
DEFAULT_DEPTHS = (20, 56, 110)
DEFAULT_LESION_DEPTHS = (56,)


def _say(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def _progress(args: argparse.Namespace) -> Callable[..., None]:
    """Progress lines on stderr, or none under --quiet (the experiment parser's shared option)."""
    return (lambda *parts: None) if getattr(args, "quiet", False) else _say


def _depths(text: str) -> tuple[int, ...]:
    try:
        depths = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"depths are whole numbers separated by commas, got {text!r}") from None
    wrong = [d for d in depths if d not in paper_depths()]
    if not depths or wrong:
        raise argparse.ArgumentTypeError(f"choose depths among {','.join(map(str, paper_depths()))}, got {text!r}")
    return depths


def _at_least_two(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 2, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser, *, common: bool = True) -> None:
    """This module's options; ``common=False`` leaves out --data-dir, --synthetic, --seed and --scale
    for a parser that already has them."""
    parser.add_argument("--depths", type=_depths, metavar="D,D,...",
                        help=f"network depths, among {','.join(map(str, paper_depths()))} "
                        "(default 20,56,110; lesion: 56, the shipped trained pair)")
    parser.add_argument("--batch", type=_at_least_two, default=128, metavar="N",
                        help="gradient-flow, shattered: images in the probe batch (default 128)")
    parser.add_argument("--images", type=_at_least_two, default=1000, metavar="N",
                        help="lesion: test images to score (default 1000)")
    parser.add_argument("--checkpoint-dir", type=Path, metavar="DIR",
                        help="lesion: folder of the trained nets (plain56.pt, resnet56.pt, ...); default: the shipped ones")
    if common:
        data = parser.add_mutually_exclusive_group()
        data.add_argument("--data-dir", type=Path, metavar="DIR",
                          help="CIFAR-10 directory; default: $RESNET_DATA_DIR, then the download cache, "
                          "else synthetic shapes")
        data.add_argument("--synthetic", action="store_true", help="use generated shapes instead of CIFAR-10")
        parser.add_argument("--seed", type=int, default=0, metavar="S", help="weights and image draw (default 0)")
        parser.add_argument("--scale", choices=list(SCALES), default="quick",
                            help="quick: half width on 16x16 images (default); paper: full width on 32x32")


def _data(args: argparse.Namespace, *, synthetic: bool = False) -> Any:
    dataset = eval_split(getattr(args, "data_dir", None), synthetic=synthetic or getattr(args, "synthetic", False))
    _progress(args)(f"data: {dataset.source}" + (" (CIFAR-10 not found)" if dataset.synthetic and not synthetic else ""))
    return dataset


def _finish(experiment: str, args: argparse.Namespace, started: float, **fields: Any) -> int:
    from resnet_core.cli.common import json_safe  # the CLI's own: NaN and infinity become null

    result = {"experiment": experiment, "seed": args.seed, **fields, "wall_s": round(time.perf_counter() - started, 2)}
    print(json.dumps(json_safe(result)), flush=True)
    return EXIT_OK


def _on_fresh_nets(name: str, args: argparse.Namespace, summary: Callable[[Any], str], **fields: Any) -> int:
    """Experiment ``name`` on fresh nets of each depth, one progress line per net, then the JSON line."""
    say = _progress(args)
    started = time.perf_counter()
    scale = SCALES[args.scale]
    probe = make_probe(_data(args), args.batch, input_size=scale.resolution, seed=args.seed)
    runs = EXPERIMENTS[name].run(args.depths or DEFAULT_DEPTHS, probe, scale=scale, seed=args.seed, progress=say)
    for run in runs:
        say(f"{run.model:>9} {'residual' if run.residual else 'plain':>8}: {summary(run)}")
    return _finish(name, args, started, scale=scale.name, data=probe.source, synthetic=probe.synthetic, **fields,
                   runs=[run.to_json() for run in runs])


def cmd_gradient_flow(args: argparse.Namespace) -> int:
    return _on_fresh_nets("gradient-flow", args, lambda run: (
        f"log10(max/min) = {run.log10_spread:.2f}, first conv {run.relative_grad_norms[0]:.3g}, "
        f"last conv {run.relative_grad_norms[-1]:.3g}"))


def cmd_shattered(args: argparse.Namespace) -> int:
    return _on_fresh_nets("shattered", args, lambda run: f"neighbour correlation {run.autocorrelation:.2f}",
                          points=256)


def cmd_lesion(args: argparse.Namespace) -> int:
    say = _progress(args)
    started = time.perf_counter()
    depths = args.depths or DEFAULT_LESION_DEPTHS
    shipped = sorted({n.depth for n in RACE_NETS})
    if any(d not in shipped for d in depths):
        raise InsightError(f"trained nets exist for depths {','.join(map(str, shipped))} only; got {depths}")
    runs, sources = [], set()
    datasets: dict[bool, Any] = {}
    for depth in depths:
        for residual in (False, True):
            label = f"{'resnet' if residual else 'plain'}{depth}"
            ckpt = load_race_net(label, args.checkpoint_dir)
            synthetic = trained_on_synthetic(ckpt)
            if synthetic not in datasets:
                datasets[synthetic] = _data(args, synthetic=synthetic)
            dataset = datasets[synthetic]
            if dataset.synthetic and not synthetic:
                _say(f"warning: {label} learnt CIFAR-10 but is scored on synthetic shapes: its accuracies mean little")
            probe = make_probe(dataset, min(args.images, len(dataset)), input_size=ckpt.input_size, seed=args.seed,
                               mean=ckpt.mean, std=ckpt.std)
            sources.add(probe.source)
            say(f"lesion: {label}")
            run = EXPERIMENTS["lesion"].run(ckpt, probe, seed=args.seed, progress=lambda m: say(f"  {m}"))
            worst = min((b.acc for b in run.blocks if b.acc is not None), default=float("nan"))
            say(f"  baseline {run.baseline_acc:.1%}, worst single deletion {worst:.1%}")
            runs.append(run.to_json())
    return _finish("lesion", args, started, data="; ".join(sorted(sources)), runs=runs)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "gradient-flow": cmd_gradient_flow,
    "shattered": cmd_shattered,
    "lesion": cmd_lesion,
}


def run(args: argparse.Namespace) -> int:
    """Run the experiment ``args.name``; an impossible request (a depth with no trained net, missing
    or damaged checkpoints, unreadable data) is one line on stderr and exit 1."""
    try:
        return HANDLERS[args.name](args)
    except (InsightError, CheckpointError, DataError) as exc:
        _say(f"error: {exc}")
        return EXIT_ERROR
