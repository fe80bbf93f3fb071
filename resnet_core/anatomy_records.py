"""The records of a network's anatomy: stem, stages, blocks and head, with their shapes. No torch.

:mod:`resnet_core.anatomy` fills them by walking a model; the shipped copies
(:mod:`resnet_core.architecture_file`) and the diagrams (:mod:`resnet_core.diagrams`) read them
without importing torch, so the home page can draw a block at the cost of a JSON read (issue #10).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SHORTCUT_LABELS", "BlockAnatomy", "NetworkAnatomy", "Shape", "StageAnatomy", "Step", "format_shape"]

Shape = tuple[int, ...]  # (channels, height, width) of one image, or (features,) after the head

#: What each shortcut kind is called on the page, one phrase each.
SHORTCUT_LABELS: dict[str, str] = {
    "identity": "identity",
    "projection": "projection (1x1 conv)",
    "zero_pad": "zero-padding (option A)",
    "none": "none",
}


@dataclass(frozen=True)
class Step:
    """One step of a forward pass as a diagram shows it: a convolution with its BN and ReLU, a pool, the fc."""

    text: str  # e.g. "3x3 conv, 128, stride 2" or "BN, ReLU"
    shape: Shape  # output shape of the step


@dataclass(frozen=True)
class BlockAnatomy:
    """One block of a stage: its residual function F, its shortcut and the shapes around it."""

    name: str  # module path, e.g. "layer2.0"
    kind: str  # "basic", "bottleneck", "residual" (ResNet-9's two convolutions) or "conv_bn" (one convolution)
    in_shape: Shape
    out_shape: Shape
    steps: tuple[Step, ...]  # F(x) in forward order (in a plain twin: the whole block but the last ReLU)
    after_add: tuple[str, ...]  # what follows the addition, e.g. ("ReLU",) for the paper's blocks
    shortcut: str  # a resnet_core.models.ShortcutKind: "identity", "projection", "zero_pad" or "none"
    shortcut_text: str  # what the shortcut does, e.g. "1x1 conv, 128, stride 2, BN"; "" for none
    parameters: int

    @property
    def has_shortcut(self) -> bool:
        return self.shortcut != "none"


@dataclass(frozen=True)
class StageAnatomy:
    """A stage (``layerN``): blocks at one resolution, the first of which may change the shape."""

    name: str  # module name, "layer1"
    paper_name: str  # "conv2_x" for the paper's ResNets, else the module name
    in_shape: Shape
    out_shape: Shape
    blocks: tuple[BlockAnatomy, ...]

    @property
    def parameters(self) -> int:
        return sum(b.parameters for b in self.blocks)

    def shortcut_summary(self) -> str:
        """The stage's shortcuts in order, runs merged: "projection, then 2 identity"."""
        runs: list[list] = []
        for block in self.blocks:
            if runs and runs[-1][0] == block.shortcut:
                runs[-1][1] += 1
            else:
                runs.append([block.shortcut, 1])
        return ", then ".join(
            SHORTCUT_LABELS[kind] if count == 1 else f"{count} x {SHORTCUT_LABELS[kind]}" for kind, count in runs
        )


@dataclass(frozen=True)
class NetworkAnatomy:
    """A whole network: the stem, the stages and the head, each with its output shape."""

    name: str
    residual: bool
    input_shape: Shape  # (3, H, W)
    stem: tuple[Step, ...]
    stages: tuple[StageAnatomy, ...]
    head: tuple[Step, ...]

    @property
    def blocks(self) -> tuple[BlockAnatomy, ...]:
        return tuple(b for s in self.stages for b in s.blocks)


def format_shape(shape: Shape) -> str:
    """(64, 56, 56) -> "64 x 56 x 56" (channels x height x width)."""
    return " x ".join(str(n) for n in shape)
