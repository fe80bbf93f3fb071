"""What each experiment measured on one network, as the page, the charts, the verdicts and the CLI read it.

One frozen dataclass per experiment; ``to_json()`` is that network's entry in the CLI's JSON line
(issue 8), so the page and the CLI read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from resnet_core.insight.lesion import BlockLesion, MultiLesion


class _JsonFields:
    """``to_json()``: the dataclass's fields in order, tuples as lists, less :attr:`JSON_LEAVES_OUT`."""

    JSON_LEAVES_OUT: ClassVar[tuple[str, ...]] = ()

    def to_json(self) -> dict[str, Any]:
        values = ((f.name, getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]
        return {name: list(v) if isinstance(v, tuple) else v for name, v in values if name not in self.JSON_LEAVES_OUT}


@dataclass(frozen=True)
class GradientFlowResult(_JsonFields):
    """``||dL/dW|| / ||W||`` per conv layer of a fresh net, input to output."""

    model: str  # registry name, e.g. "resnet56"
    depth: int
    residual: bool
    layers: tuple[str, ...]
    relative_grad_norms: tuple[float, ...]
    log10_spread: float  # orders of magnitude between the largest and smallest layer


@dataclass(frozen=True)
class ShatteredResult(_JsonFields):
    """The gradient along a line of inputs through a fresh net, and its neighbour correlation."""

    model: str
    depth: int
    residual: bool
    autocorrelation: float  # lag-1: 1 smooth, 0 white noise
    t: tuple[float, ...]
    gradient: tuple[float, ...]

    # t and gradient are 256 numbers each: the page draws them, the JSON line keeps the summary.
    JSON_LEAVES_OUT = ("t", "gradient")


@dataclass(frozen=True)
class LesionResult:
    """Test accuracy of a trained net intact, with each block deleted, and with several deleted at once."""

    model: str
    depth: int
    residual: bool
    baseline_acc: float
    blocks: tuple[BlockLesion, ...]  # acc None where a block cannot be deleted
    multi: tuple[MultiLesion, ...]
    images: int

    def to_json(self) -> dict[str, Any]:
        return {
            "depth": self.depth, "model": self.model, "residual": self.residual, "baseline_acc": self.baseline_acc,
            "blocks": [{"name": b.name, "acc": b.acc} for b in self.blocks],
            "multi": [{"deleted": m.count, "acc": m.mean, "accs": list(m.accs)} for m in self.multi],
            "images": self.images,
        }


@dataclass(frozen=True)
class _TrainedNetResult(_JsonFields):
    """What a measurement of one trained net starts with, in its fields and its JSON entry: which net."""

    model: str
    residual: bool


@dataclass(frozen=True)
class ResponsesResult(_TrainedNetResult):
    """Std of every 3x3 layer's response of a trained net (He et al., Figure 7)."""

    layers: tuple[str, ...]
    stds: tuple[float, ...]
    images: int


@dataclass(frozen=True)
class LandscapeResult(_TrainedNetResult):
    """Loss and accuracy along a filter-normalised direction; the middle alpha (0) is the trained weights."""

    alphas: tuple[float, ...]
    losses: tuple[float, ...]
    accs: tuple[float, ...]
    images: int
