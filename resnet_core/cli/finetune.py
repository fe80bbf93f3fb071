"""``python -m resnet_core finetune DIR_OR_ZIP``: fine-tune a pretrained ResNet on your pictures.

Progress goes to stderr; the last line of stdout is one JSON object, so
``python -m resnet_core finetune pets.zip | tail -1 | jq .val_acc`` works. Bad input (a missing
path, a zip bomb, one class, missing ImageNet weights) exits with status 1 and one line saying
what to do; argument errors exit with 2, as argparse does.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from resnet_core.checkpoint import SHIPPED_KEY
from resnet_core.cli.common import EXIT_ERROR, EXIT_OK, positive_int, say

__all__ = ["DEFAULT_EPOCHS", "MODES", "WEIGHTS", "add_finetune_parser", "backbone_names", "cmd_finetune"]

# Spelled out here rather than imported from resnet_core.finetune, which pulls in torchvision
# (seconds) for every ``python -m resnet_core`` command; tests check they agree.
MODES = ("linear", "last-stage")
WEIGHTS = ("V1", "V2")
DEFAULT_EPOCHS = {"linear": 30, "last-stage": 5}


def backbone_names() -> list[str]:
    """``finetune.backbone_names()`` from the registry alone: shipped, then the ImageNet variants."""
    from resnet_core.models import get_spec, list_models

    from resnet_core.timm_catalog import TIMM_PREFIX, timm_names

    return [SHIPPED_KEY, *(n for n in list_models("imagenet") if get_spec(n).torchvision_name),
            *(TIMM_PREFIX + n for n in timm_names())]


def _torchvision_backbones() -> list[str]:
    return [n for n in backbone_names() if n != SHIPPED_KEY and not n.startswith("timm:")]


def _fraction(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def add_finetune_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``finetune`` subcommand to ``sub`` (the main parser's subparsers)."""
    backbones = backbone_names()
    parser = sub.add_parser(
        "finetune",
        help="fine-tune a pretrained ResNet on a folder or zip of your pictures",
        description="Teach a pretrained ResNet your own classes: DIR_OR_ZIP holds one folder per class "
        "(a .zip is read in memory, never extracted). A share of each class is held out to measure "
        "accuracy. Progress on stderr, one JSON line on stdout.",
    )
    parser.add_argument("source", metavar="DIR_OR_ZIP", type=Path, help="a folder of class folders, or a .zip of one")
    parser.add_argument("--backbone", choices=backbones, default=SHIPPED_KEY, metavar="NAME",
                        help=f"one of: {', '.join(backbones)} (default: {SHIPPED_KEY}, the CIFAR-10 model "
                        "that works offline; the ImageNet and timm: ones need cached weights: python -m resnet_core "
                        "prefetch, or --weights-file)")
    parser.add_argument("--weights-file", type=Path, metavar="PATH",
                        help="take the backbone's weights from this state dict file (torch.save(model.state_dict()), "
                        "read with weights_only=True) instead of a cache: for offline use")
    parser.add_argument("--weights", choices=WEIGHTS, default="V1",
                        help="torchvision ImageNet weight set: V1, or V2 where torchvision has it (resnet50 and deeper)")
    parser.add_argument("--mode", choices=MODES, default="linear",
                        help="linear: train a new head on frozen features (seconds); last-stage: then also "
                        "fine-tune the last stage at a lower learning rate, with augmentation")
    parser.add_argument("--val-fraction", type=_fraction, default=0.2, metavar="F",
                        help="share of each class held out to measure accuracy (default 0.2)")
    parser.add_argument("--epochs", type=positive_int, metavar="N",
                        help=f"passes over the training pictures (default: {DEFAULT_EPOCHS['linear']} linear, "
                        f"{DEFAULT_EPOCHS['last-stage']} last-stage)")
    parser.add_argument("--out", type=Path, metavar="PATH", help="save the fine-tuned model here (a resnet_core checkpoint)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the split, shuffles and augmentation")
    return parser


def _show(progress: Any) -> None:
    """A stderr line per batch of pictures through the backbone, per last-stage epoch, and
    per fifth epoch of the (fast, many-epoch) linear head."""
    if progress.phase == "features" and progress.done == 0:
        return  # nothing done yet
    if progress.phase == "head" and progress.done % 5 and progress.done != progress.total:
        return
    say(progress.message)


def cmd_finetune(args: argparse.Namespace) -> int:
    """Read the pictures, load the backbone, fine-tune, save; one JSON line on stdout."""
    from resnet_core.checkpoint import CheckpointError
    from resnet_core.finetune import FinetuneConfig, check_backbone, finetune, load_backbone
    from resnet_core.images import ImageError
    from resnet_core.pretrained import WeightsUnavailableError
    from resnet_core.userdata import DatasetError, read_folder, read_zip

    source: Path = args.source.expanduser()
    try:
        config = FinetuneConfig(mode=args.mode, epochs=args.epochs, val_fraction=args.val_fraction, seed=args.seed)
        check_backbone(args.backbone, args.weights, weights_file=args.weights_file)  # before reading a thousand pictures
        if not source.exists():
            raise DatasetError(f"{source} does not exist. Give a folder with one sub-folder per class, or a .zip of one.")
        say(f"reading pictures from {source} ...")
        pictures = read_zip(source) if source.is_file() else read_folder(source)
        counts = ", ".join(f"{name}: {n}" for name, n in pictures.counts().items())
        say(f"{len(pictures)} pictures in {len(pictures.classes)} classes ({counts})")
        if pictures.skipped:
            say(f"skipped {len(pictures.skipped)} file(s) that are not usable pictures:")
            for s in pictures.skipped[:10]:
                say(f"  {s.name}: {s.reason}")
            if len(pictures.skipped) > 10:
                say(f"  ... and {len(pictures.skipped) - 10} more")
        backbone = load_backbone(args.backbone, args.weights, weights_file=args.weights_file)
        say(f"backbone: {backbone.label}, pretrained on {backbone.pretrained_on}; mode: {config.mode}")
        result = finetune(pictures, backbone, config, on_progress=_show)
        if args.out is not None:
            args.out.expanduser().parent.mkdir(parents=True, exist_ok=True)
            result.save(args.out.expanduser())
            say(f"saved the fine-tuned model to {args.out}")
    except (DatasetError, ImageError, WeightsUnavailableError, CheckpointError, ValueError, OSError) as exc:
        # One line, for people; anything else is a bug and keeps its traceback.
        say(f"error: {' '.join(str(exc).split())}")
        return EXIT_ERROR
    summary = {**result.summary(), "backbone": args.backbone,
               "weights": args.weights if args.backbone in _torchvision_backbones() else None,
               "weights_file": str(args.weights_file) if args.weights_file else None,
               "skipped_files": len(pictures.skipped)}
    print(json.dumps(summary), flush=True)
    return EXIT_OK
