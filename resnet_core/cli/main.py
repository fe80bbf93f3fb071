"""Command line: ``python -m resnet_core train | experiment | finetune | prefetch | info`` (also ``resnet-core``).

Every command prints progress on stderr and its result on stdout (one JSON line where it has one),
so scripts can do ``python -m resnet_core train ... | jq .test_acc``. Each command group is its
own module in this package; this one builds the parser from them and runs the command.

Exit codes (:mod:`resnet_core.cli.common`): 0 done (or stopped by Ctrl-C: the JSON says so), 1 an
expected error (missing data, a bad checkpoint path, no network for ``prefetch``), 2 bad
arguments, 3 the run diverged.
"""

from __future__ import annotations

import argparse
from typing import Callable, Sequence

from resnet_core.cli.common import EXIT_ERROR, EXIT_USAGE, UsageError, say
from resnet_core.cli.experiment import add_experiment_parser, cmd_experiment
from resnet_core.cli.finetune import add_finetune_parser, cmd_finetune
from resnet_core.cli.machine import add_info_parser, add_prefetch_parser, cmd_info, cmd_prefetch
from resnet_core.cli.train import add_train_parser, cmd_train

__all__ = ["build_parser", "main"]

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": cmd_train, "experiment": cmd_experiment, "prefetch": cmd_prefetch, "info": cmd_info,
    "finetune": cmd_finetune,
}


def build_parser() -> argparse.ArgumentParser:
    """The ``resnet_core`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m resnet_core",
        description="Train CIFAR ResNets, fetch data and weights for offline use, show the machine.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,experiment,finetune,prefetch,info}")
    add_train_parser(sub)
    add_experiment_parser(sub)
    add_prefetch_parser(sub)
    add_info_parser(sub)
    add_finetune_parser(sub)
    return parser


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
        say(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        say("aborted")
        return 130
