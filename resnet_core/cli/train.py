"""``python -m resnet_core train``: train a CIFAR ResNet, one progress line per log on stderr, one JSON line on stdout.

``python -m resnet_core train ... | jq .test_acc`` works. Under ``torchrun --nproc_per_node=N`` the
same command trains with DistributedDataParallel: this module sets up the process group from
torchrun's environment and only rank 0 talks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.distributed as dist

from resnet_core.cli.common import (
    EXIT_DIVERGED,
    EXIT_OK,
    UsageError,
    ctrl_c_stops,
    json_safe,
    positive_float,
    positive_int,
    say,
)
from resnet_core.models import list_models

__all__ = ["DistInfo", "add_train_parser", "cmd_train", "distributed"]

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


def add_train_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to ``sub`` (the main parser's subparsers)."""
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
    return train


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
# The command
# --------------------------------------------------------------------------------------------


def _train_config(args: argparse.Namespace) -> Any:
    """The TrainConfig for ``args``: the device's recipe with the given options replaced."""
    from resnet_core.train import single_run_recipe

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
            say(f"step {item.step:>6}  epoch {item.epoch:6.2f}  loss {item.loss:.4f}  "
                f"acc {item.acc:6.1%}  lr {item.lr:.4g}  {item.images_per_s:7.0f} img/s  "
                f"{item.elapsed_s:6.1f} s")
        elif isinstance(item, EpochMetrics):
            say(f"epoch {item.epoch:>3} done  test loss {item.test_loss:.4f}  "
                f"test acc {item.test_acc:6.1%}  {item.elapsed_s:6.1f} s")
        # Gradient norms are for the app's gradient-flow chart; too wide for a terminal line.

    return show


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
    return json_safe(summary)


def cmd_train(args: argparse.Namespace) -> int:
    """Train as ``args`` say; exit 0 when finished or stopped, 3 when the run diverged."""
    from resnet_core.device import pick_device
    from resnet_core.train import Trainer

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
            say(f"training {'residual' if config.residual else 'plain'} {config.model} "
                f"on {config.data} data{where}")
        stop = threading.Event()
        callback = _progress_printer(args.quiet) if info.is_main else None
        trainer = Trainer(config, callback=callback, stop_event=stop)
        if info.world_size > 1:
            # All ranks must stop at the same step or the others hang in an all-reduce, so under
            # torchrun Ctrl-C keeps its default (torchrun then ends every rank).
            result = trainer.run()
        else:
            with ctrl_c_stops(stop):
                result = trainer.run()
        if not info.is_main:
            return EXIT_OK
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            result.save(args.out)
            say(f"saved checkpoint to {args.out}")
        if result.status != "finished":
            say(f"{result.status}: {result.message}")
        print(json.dumps(_summary(result, info.world_size)), flush=True)
    return EXIT_DIVERGED if result.status == "diverged" else EXIT_OK
