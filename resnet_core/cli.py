"""Command line: ``python -m resnet_core train | experiment | prefetch | info`` (also ``resnet-core``).

``train`` prints one progress line per logged step and per epoch on stderr and ends with exactly
one JSON line on stdout, so scripts can do ``python -m resnet_core train ... | jq .test_acc``.
Under ``torchrun --nproc_per_node=N`` the same command trains with DistributedDataParallel:
this module sets up the process group from torchrun's environment and only rank 0 talks.

Exit codes: 0 trained (or stopped by Ctrl-C: the JSON says so), 1 an expected error (missing
data, a bad checkpoint path, no network for ``prefetch``), 2 bad arguments, 3 the run diverged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
import torch.distributed as dist

from resnet_core.cli_args import positive_float, positive_int
from resnet_core.finetune_cli import add_finetune_parser, cmd_finetune
from resnet_core.models import list_models
from resnet_core.timm_catalog import cached_timm_names, hub_cache_dir, timm_names

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3

# TrainConfig fields that are also ``train`` options of the same name (``--batch-size`` -> batch_size).
_CONFIG_OPTIONS = (
    "batch_size", "lr", "momentum", "weight_decay", "optimizer", "schedule", "label_smoothing",
    "subset", "test_subset", "seed", "precision", "log_every", "grad_norm_every",
)


def _choices(field_name: str) -> tuple[str, ...]:
    """The values a ``Literal``-typed TrainConfig field allows, read from its annotation."""
    from typing import get_args, get_type_hints

    from resnet_core.train import TrainConfig

    return get_args(get_type_hints(TrainConfig)[field_name])


class UsageError(Exception):
    """Arguments that parse but do not make a valid run; reported like an argparse error."""


def _say(*parts: Any) -> None:
    """Progress and diagnostics go to stderr: stdout carries only the JSON result."""
    print(*parts, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """The ``resnet_core`` argument parser with its three subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m resnet_core",
        description="Train CIFAR ResNets, fetch data and weights for offline use, show the machine.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,experiment,finetune,prefetch,info}")

    train = sub.add_parser(
        "train",
        help="train a CIFAR ResNet and print its results as one JSON line",
        description="Train a CIFAR-10 ResNet (or its plain twin). Progress on stderr, one JSON "
        "line on stdout. Run it under 'torchrun --nproc_per_node=N' to train on N processes.",
    )
    train.add_argument("--model", choices=list_models(family="cifar"), metavar="NAME",
                       help=f"one of: {', '.join(list_models(family='cifar'))} (default: the device's recipe)")
    train.add_argument("--no-residual", action="store_true",
                       help="train the plain twin: the same layers without shortcut additions")
    data = train.add_mutually_exclusive_group()
    data.add_argument("--data-dir", type=Path, metavar="DIR",
                      help="CIFAR-10 directory (cifar-10-batches-py or its parent); "
                      "default: $RESNET_DATA_DIR, then the download cache")
    data.add_argument("--synthetic", action="store_true",
                      help="train on generated shapes instead of CIFAR-10 (no download, for tests)")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_float, metavar="N",
                        help="passes over the training set (fractions allowed)")
    length.add_argument("--budget", type=positive_float, metavar="SECONDS",
                        help="train for this many seconds of wall time instead of a number of epochs")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="default: auto (CUDA when available); also picks the defaults below")
    train.add_argument("--out", type=Path, metavar="CHECKPOINT",
                       help="save the trained model here (load with resnet_core.checkpoint)")
    train.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    hyper = train.add_argument_group("hyperparameters (defaults: TrainConfig.for_device)")
    hyper.add_argument("--batch-size", type=positive_int, metavar="N", help="images per step (per process under torchrun)")
    hyper.add_argument("--lr", type=positive_float, metavar="LR", help="peak learning rate")
    hyper.add_argument("--momentum", type=float, metavar="M")
    hyper.add_argument("--weight-decay", type=float, metavar="WD")
    hyper.add_argument("--optimizer", choices=_choices("optimizer"))
    hyper.add_argument("--schedule", choices=_choices("schedule"), help="learning-rate schedule")
    hyper.add_argument("--label-smoothing", type=float, metavar="EPS")
    hyper.add_argument("--precision", choices=_choices("precision"))
    hyper.add_argument("--subset", type=positive_int, metavar="N", help="train on the first N images only")
    hyper.add_argument("--test-subset", type=positive_int, metavar="N", help="evaluate on N test images only")
    hyper.add_argument("--seed", type=int, metavar="S")
    hyper.add_argument("--log-every", type=positive_int, metavar="STEPS", help="progress line every N steps")
    hyper.add_argument("--grad-norm-every", type=int, metavar="STEPS",
                       help="record per-layer gradient norms every N steps (0: never)")

    experiment = sub.add_parser(
        "experiment",
        help="run one of the app's experiments and print its results as one JSON line",
        description="Run an experiment: 'degradation' races plain-20, plain-56, ResNet-20 and ResNet-56 in "
        "lockstep (He et al. 2015, Figures 1 and 6); 'gradient-flow', 'shattered' and 'lesion' show why the "
        "shortcut works (relative gradient norm per conv layer at initialisation; the gradient's neighbour "
        "correlation along a line of inputs, Balduzzi et al. 2017; test accuracy with blocks of the trained "
        "nets deleted, Veit et al. 2016). Progress on stderr, one JSON line on stdout.",
    )
    experiment.add_argument("name", choices=tuple(_EXPERIMENT_NAMES), metavar="NAME",
                            help=f"one of: {', '.join(_EXPERIMENT_NAMES)}")
    from resnet_core.experiment_cli import add_race_arguments
    from resnet_core.insight.cli import add_arguments as add_insight_arguments

    add_race_arguments(experiment)
    add_insight_arguments(experiment, common=False)  # gradient-flow, shattered, lesion (issue 8)

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

    info = sub.add_parser("info", help="show the device, CIFAR-10 location and cached weights")
    info.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_finetune_parser(sub)
    return parser


# --------------------------------------------------------------------------------------------
# Distributed setup
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a torchrun job (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _torchrun_env() -> DistInfo | None:
    """torchrun's RANK/WORLD_SIZE/LOCAL_RANK, or None when not launched by it."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return None
    try:
        return DistInfo(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                        int(os.environ.get("LOCAL_RANK", "0")))
    except ValueError:
        raise ValueError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers (torchrun sets them)") from None


@contextmanager
def distributed(device: str) -> Iterator[DistInfo]:
    """Join torchrun's process group for the duration of the block, and always leave it.

    gloo on the CPU, nccl on CUDA with this process pinned to the GPU of its local rank. Without
    torchrun (or with a single process) this yields rank 0 of 1 and sets nothing up.
    """
    info = _torchrun_env()
    if info is None or info.world_size < 2:
        yield DistInfo()
        return
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        if info.local_rank >= torch.cuda.device_count():
            raise ValueError(f"local rank {info.local_rank} has no GPU: this machine has "
                             f"{torch.cuda.device_count()}; lower --nproc_per_node")
        # Before init: nccl binds each process to the current device.
        torch.cuda.set_device(info.local_rank)
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    try:
        yield info
    finally:
        dist.destroy_process_group()


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _train_config(args: argparse.Namespace) -> Any:
    """The TrainConfig for ``args``: the device's recipe with the given options replaced."""
    from resnet_core.experiments import single_run_recipe

    base = single_run_recipe(args.device)
    changes: dict[str, Any] = {"residual": not args.no_residual, "device": args.device}
    if args.model is not None:
        changes["model"] = args.model
    if args.synthetic:
        changes["data"] = "synthetic"
    else:
        changes["data"] = "cifar10"
        if args.data_dir is not None:
            changes["data_dir"] = str(args.data_dir)
    # One way to say how long: the other limit is switched off, not left at its default.
    if args.epochs is not None:
        changes.update(epochs=args.epochs, budget_s=None)
    elif args.budget is not None:
        changes.update(budget_s=args.budget, epochs=None)
    for name in _CONFIG_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    return dataclasses.replace(base, **changes)


def _progress_printer(quiet: bool) -> Any:
    """A Trainer callback that prints one line per step log and per epoch."""
    from resnet_core.train import EpochMetrics, StepMetrics

    def show(item: Any) -> None:
        if quiet:
            return
        if isinstance(item, StepMetrics):
            _say(f"step {item.step:>6}  epoch {item.epoch:6.2f}  loss {item.loss:.4f}  "
                 f"acc {item.acc:6.1%}  lr {item.lr:.4g}  {item.images_per_s:7.0f} img/s  "
                 f"{item.elapsed_s:6.1f} s")
        elif isinstance(item, EpochMetrics):
            _say(f"epoch {item.epoch:>3} done  test loss {item.test_loss:.4f}  "
                 f"test acc {item.test_acc:6.1%}  {item.elapsed_s:6.1f} s")
        # Gradient norms are for the app's gradient-flow chart; too wide for a terminal line.

    return show


def _json_safe(value: Any) -> Any:
    """NaN and infinity are not JSON: a diverged run reports null for its loss."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _summary(result: Any, world_size: int) -> dict[str, Any]:
    """The JSON line: the trainer's summary with the keys scripts rely on always present."""
    from resnet_core.device import pick_device

    summary = dict(result.summary())
    config = result.config
    summary.setdefault("status", result.status)
    summary.setdefault("model", config.model)
    summary.setdefault("residual", config.residual)
    if summary.get("device") in (None, "auto"):
        summary["device"] = pick_device(config.device).type
    for key in ("epochs_completed", "train_seconds", "images_per_second", "test_acc", "test_loss"):
        summary.setdefault(key, getattr(result, key))
    summary["world_size"] = world_size
    return _json_safe(summary)


@contextmanager
def _ctrl_c_stops(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C asks the trainer to stop (it returns "stopped" with a result); second aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        _say("stopping after this step; press Ctrl-C again to abort")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def cmd_train(args: argparse.Namespace) -> int:
    from resnet_core.train import Trainer

    from resnet_core.device import pick_device

    try:
        config = _train_config(args)
        pick_device(config.device)  # "cuda" without a GPU is the user's to fix, not a traceback
    except ValueError as exc:  # TrainConfig.__post_init__ says what is wrong
        raise UsageError(str(exc)) from None
    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out {args.out} is a directory; give a file name such as {args.out / 'model.pt'}")
    with distributed(config.device) as info:
        if info.is_main and not args.quiet:
            where = f" on {info.world_size} processes" if info.world_size > 1 else ""
            _say(f"training {'residual' if config.residual else 'plain'} {config.model} "
                 f"on {config.data} data{where}")
        stop = threading.Event()
        callback = _progress_printer(args.quiet) if info.is_main else None
        trainer = Trainer(config, callback=callback, stop_event=stop)
        if info.world_size > 1:
            # All ranks must stop at the same step or the others hang in an all-reduce, so under
            # torchrun Ctrl-C keeps its default (torchrun then ends every rank).
            result = trainer.run()
        else:
            with _ctrl_c_stops(stop):
                result = trainer.run()
        if not info.is_main:
            return EXIT_OK
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            result.save(args.out)
            _say(f"saved checkpoint to {args.out}")
        if result.status != "finished":
            _say(f"{result.status}: {result.message}")
        print(json.dumps(_summary(result, info.world_size)), flush=True)
    return EXIT_DIVERGED if result.status == "diverged" else EXIT_OK


def cmd_prefetch(args: argparse.Namespace) -> int:
    everything = not args.cifar and not args.weights and not args.timm
    weights = list_models(family="imagenet") if everything else list(args.weights or [])
    failures = 0
    if args.cifar or everything:
        from resnet_core.data import DataError, download_cifar10

        _say("CIFAR-10: downloading (about 170 MB) ...")
        try:
            path = download_cifar10(progress=True)
        except DataError as exc:
            _say(f"CIFAR-10: {exc}")
            failures += 1
        else:
            print(f"CIFAR-10: {path}", flush=True)
    if weights:
        from resnet_core.pretrained import download_weights  # torchvision: only when needed

        for name in weights:
            _say(f"{name}: downloading ImageNet weights ...")
            try:
                path = download_weights(name, progress=True)
            except (OSError, ValueError, RuntimeError) as exc:  # network, disk, bad hash
                _say(f"{name}: download failed: {exc}")
                failures += 1
            else:
                print(f"{name}: {path}", flush=True)
    if args.timm or everything:
        from resnet_core.timm_backbones import download_timm_weights  # timm: only when needed

        for name in timm_names() if everything else args.timm:
            _say(f"timm:{name}: downloading through timm ...")
            try:
                path = download_timm_weights(name)
            except (OSError, ValueError, RuntimeError) as exc:  # WeightsUnavailableError is a RuntimeError
                _say(f"timm:{name}: download failed: {exc}")
                failures += 1
            else:
                print(f"timm:{name}: {path}", flush=True)
    return EXIT_ERROR if failures else EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from resnet_core.environment import machine_status

    status = machine_status()
    if args.json:
        print(json.dumps(_json_safe({**dataclasses.asdict(status), "timm_cached": cached_timm_names()})))
        return EXIT_OK
    print(f"device:            {status.device}")
    print(f"CIFAR-10:          {status.cifar10_dir or 'not found (python -m resnet_core prefetch --cifar)'}")
    cached = ", ".join(status.pretrained_cached) or "none (python -m resnet_core prefetch --weights NAME)"
    print(f"ImageNet weights:  {cached}")
    timm_cached = ", ".join(f"timm:{n}" for n in cached_timm_names()) or "none (python -m resnet_core prefetch --timm NAME)"
    print(f"timm weights:      {timm_cached} (Hugging Face cache {hub_cache_dir()})")
    print(f"torch:             {torch.__version__}")
    return EXIT_OK


def cmd_experiment(args: argparse.Namespace) -> int:
    try:
        return _EXPERIMENT_NAMES[args.name](args)
    except ValueError as exc:  # RaceConfig and the options validate themselves
        raise UsageError(str(exc)) from None


def _race(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from resnet_core.experiment_cli import cmd_race

        return cmd_race(args, name)

    return run


def _insight(args: argparse.Namespace) -> int:
    from resnet_core.insight.cli import run

    return run(args)


#: ``experiment NAME`` -> its handler; gradient-flow, shattered and lesion are resnet_core.insight.cli's (issue 8).
_EXPERIMENT_NAMES = {"degradation": _race("degradation"),
                     **dict.fromkeys(("gradient-flow", "shattered", "lesion"), _insight)}

_COMMANDS = {"train": cmd_train, "experiment": cmd_experiment, "prefetch": cmd_prefetch, "info": cmd_info,
             "finetune": cmd_finetune}  # finetune's parser and handler live in finetune_cli.py


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; expected errors become one line and an exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from resnet_core.checkpoint import CheckpointError
    from resnet_core.data import DataError

    try:
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"{parser.prog} {args.command}: error: {exc}\n")
    except (DataError, CheckpointError, OSError) as exc:
        # Missing or malformed data, an unwritable --out: the message says what to do. Anything
        # else is a bug and keeps its traceback.
        _say(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("aborted")
        return 130
