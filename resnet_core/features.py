"""What each stage sees: the feature maps of the stem and every stage for one picture.

One forward pass with :class:`~resnet_core.cam.ActivationCapture` on the stem's last module and
on ``layer1``..``layerN`` records each output; the channels that respond most (largest mean
activation over the map) are kept, so a learner sees the resolution fall and the channels grow
from stage to stage. Like everything the pages run on a cached model, nothing here changes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from resnet_core.cam import ActivationCapture, stage_layers
from resnet_core.colormaps import apply_colormap
from resnet_core.model_state import evaluating

__all__ = ["StageFeatures", "feature_grid", "feature_layers", "stage_features"]


@dataclass(frozen=True)
class StageFeatures:
    """The strongest channels of one stage's output for one image."""

    name: str  # "stem" or the stage's module name, "layer1"
    module: str  # the stage whose output this is ("layer1"); for the stem, the stage it feeds
    shape: tuple[int, int, int]  # (channels, height, width) of the whole output
    channels: tuple[int, ...]  # indices of the strongest channels, strongest first
    strength: tuple[float, ...]  # their mean activation over the map
    maps: Tensor  # (k, height, width), scaled together to [0, 1] by the stage's largest value
    peak: float  # that largest value (of all channels), in the activation's own units


def feature_layers(model: nn.Module) -> list[tuple[str, str]]:
    """(label, module) of what the page shows: [("stem", "layer1"), ("layer1", "layer1"), ...].

    The stem has no single output module (torchvision's ResNet registers ``maxpool`` before
    ``bn1`` and ``relu``), so its output is read as the *input* of the first stage.
    """
    stages = stage_layers(model)
    return [("stem", stages[0])] + [(s, s) for s in stages]


def stage_features(model: nn.Module, x: Tensor, *, top: int = 8) -> list[StageFeatures]:
    """The ``top`` strongest channels of the stem and every stage for one normalised image ``x`` (1, 3, H, W)."""
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"x must be one image, shape (1, 3, H, W), got {tuple(x.shape)}")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    layers = feature_layers(model)
    stages = [m for label, m in layers if label != "stem"]
    stem_out: list[Tensor] = []
    first = dict(model.named_modules())[stages[0]]
    # no_grad, not inference_mode: the capture checks version counters, which inference tensors lack.
    with torch.no_grad(), evaluating(model):
        handle = first.register_forward_pre_hook(lambda module, inputs: stem_out.append(inputs[0].clone()))
        try:
            with ActivationCapture(model, stages) as capture:
                model(x)
        finally:
            handle.remove()
        capture.check_unmodified()
        outputs = {"stem": stem_out[0]} | {s: capture.activations[s] for s in stages}
        result = []
        for label, module in layers:
            act = outputs[label][0].float()  # (C, H, W)
            strength = act.mean(dim=(1, 2))
            k = min(top, act.shape[0])
            values, idx = strength.topk(k)
            peak = float(act.max())
            maps = act[idx] / peak if peak > 0 else torch.zeros_like(act[idx])
            result.append(
                StageFeatures(
                    name=label,
                    module=module,
                    shape=tuple(act.shape),  # type: ignore[arg-type]
                    channels=tuple(int(i) for i in idx),
                    strength=tuple(float(v) for v in values),
                    maps=maps.clamp(0.0, 1.0).clone(),
                    peak=peak,
                )
            )
    return result


def feature_grid(features: StageFeatures, *, cell: int = 64, columns: int = 8, colormap: str = "viridis", gap: int = 3) -> Image.Image:
    """The stage's channels side by side, each enlarged to ``cell`` pixels with nearest neighbour.

    Nearest neighbour keeps each position a visible square, so a 4x4 map looks like 16 squares:
    the resolution the stage really has.
    """
    maps = features.maps.numpy()
    k = maps.shape[0]
    cols = min(columns, k)
    rows = -(-k // cols)
    grid = Image.new("RGB", (cols * cell + (cols - 1) * gap, rows * cell + (rows - 1) * gap), "white")
    for i in range(k):
        tile = Image.fromarray(apply_colormap(maps[i], colormap)).resize((cell, cell), Image.Resampling.NEAREST)
        grid.paste(tile, ((i % cols) * (cell + gap), (i // cols) * (cell + gap)))
    return grid
