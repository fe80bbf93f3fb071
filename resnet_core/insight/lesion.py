"""Lesion study (Veit et al., 2016): delete blocks of a trained net at test time and see what survives.

Deleting a residual block removes its branch and keeps its shortcut, so the signal still flows
past it: a residual net behaves like an ensemble of many paths of different lengths, and losing
one path costs little. A plain net has no shortcut; its block is replaced by the identity
(possible only where the block keeps the shape: not where a stage halves the resolution and
widens), and with a single chain of layers, every layer is on the only path.

The model is never modified: the forward pass is walked block by block here, and each single
deletion reuses the pass up to the deleted block (half the work of a pass per block).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from resnet_core.insight.nets import InsightError
from resnet_core.model_state import evaluating
from resnet_core.models import BasicBlock, Bottleneck, ResNet

CHUNK = 500  # images per forward pass: bounded memory, full-size matrix products


@dataclass(frozen=True)
class BlockLesion:
    """Test accuracy with one block deleted; ``acc`` is None where the block cannot be deleted."""

    name: str  # e.g. "layer2.0"
    acc: float | None
    note: str  # how it was deleted, or why not


@dataclass(frozen=True)
class LesionStudy:
    baseline_acc: float
    blocks: tuple[BlockLesion, ...]
    images: int


@dataclass(frozen=True)
class MultiLesion:
    """Accuracy with ``count`` randomly chosen blocks deleted at once, over several random draws."""

    count: int
    accs: tuple[float, ...]

    @property
    def mean(self) -> float:
        return sum(self.accs) / len(self.accs)


class _Chain:
    """A ResNet as stem -> blocks -> head, exactly what ``ResNet.forward`` computes."""

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, ResNet):
            raise InsightError(
                f"the lesion study needs a ResNet made of residual blocks; {type(model).__name__} is not one "
                "(ResNet-9 has only two residual units)"
            )
        self.model = model
        self.blocks: list[tuple[str, nn.Module]] = [
            (f"layer{s}.{j}", block)
            for s in range(1, model.num_stages + 1)
            for j, block in enumerate(getattr(model, f"layer{s}"))
        ]

    def stem(self, x: Tensor) -> Tensor:
        m = self.model
        return m.maxpool(m.relu(m.bn1(m.conv1(x))))

    def head(self, x: Tensor) -> Tensor:
        m = self.model
        return m.fc(torch.flatten(m.avgpool(x), 1))


def deleted(block: nn.Module, x: Tensor) -> Tensor:
    """What ``block`` computes from ``x`` once deleted: its shortcut alone, or the identity in a plain net.

    A residual block with its branch gone is ``relu(0 + shortcut(x))``, the same as the block
    whose branch outputs zero; a plain block has nothing left but the identity.
    """
    if not isinstance(block, (BasicBlock, Bottleneck)):
        raise InsightError(f"cannot delete a {type(block).__name__}: only BasicBlock and Bottleneck")
    if block.residual:
        # torch.relu, not the block's in-place ReLU: ``x`` is still needed by the intact pass.
        return torch.relu(x if block.downsample is None else block.downsample(x))
    return x


def keeps_shape(block: nn.Module) -> bool:
    """Whether the block's output has its input's shape (stride 1, as many channels out as in)."""
    first, last = block.conv1, (block.conv3 if isinstance(block, Bottleneck) else block.conv2)
    strides = [m.stride for m in block.modules() if isinstance(m, nn.Conv2d)]
    return first.in_channels == last.out_channels and all(s == (1, 1) for s in strides)


def can_delete(block: nn.Module) -> bool:
    """A residual block always keeps its shortcut; a plain block becomes the identity only where shapes allow."""
    return bool(block.residual) or keeps_shape(block)


def _how(block: nn.Module) -> str:
    if block.residual:
        return "branch removed, shortcut kept"
    if keeps_shape(block):
        return "replaced by the identity"
    return "not deletable: it changes the shape and a plain block has no shortcut"


def _batches(images: Tensor, labels: Tensor, chunk: int) -> list[tuple[Tensor, Tensor]]:
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise InsightError(f"need as many labels as images (and at least one): {images.shape[0]} vs {labels.shape[0]}")
    return list(zip(images.split(chunk), labels.split(chunk)))


def lesion_study(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    chunk: int = CHUNK,
    progress: Callable[[str], None] | None = None,
) -> LesionStudy:
    """Accuracy of ``model`` as is and with each block deleted in turn (eval mode, BN running stats)."""
    chain = _Chain(model)
    correct = [0] * len(chain.blocks)
    base_correct = 0
    with evaluating(model), torch.inference_mode():
        for done, (x, y) in enumerate(_batches(images, labels, chunk)):
            a = chain.stem(x)
            for i, (_, block) in enumerate(chain.blocks):
                if can_delete(block):
                    h = deleted(block, a)
                    for _, later in chain.blocks[i + 1:]:
                        h = later(h)
                    correct[i] += int((chain.head(h).argmax(1) == y).sum())
                a = block(a)
            base_correct += int((chain.head(a).argmax(1) == y).sum())
            if progress is not None:
                progress(f"{min((done + 1) * chunk, len(labels))}/{len(labels)} images")
    n = len(labels)
    results = tuple(
        BlockLesion(
            name=name,
            acc=correct[i] / n if can_delete(block) else None,
            note=_how(block),
        )
        for i, (name, block) in enumerate(chain.blocks)
    )
    return LesionStudy(baseline_acc=base_correct / n, blocks=results, images=n)


def forward_with_deleted(model: nn.Module, x: Tensor, names: Sequence[str]) -> Tensor:
    """Logits of ``model`` (in its current mode) with every block in ``names`` deleted."""
    chain = _Chain(model)
    known = {name for name, _ in chain.blocks}
    unknown = set(names) - known
    if unknown:
        raise InsightError(f"no block(s) {sorted(unknown)} in this net; it has {', '.join(sorted(known))}")
    stuck = [name for name, block in chain.blocks if name in names and not can_delete(block)]
    if stuck:
        raise InsightError(f"{', '.join(stuck)}: a plain block that changes the shape cannot be deleted")
    a = chain.stem(x)
    for name, block in chain.blocks:
        a = deleted(block, a) if name in names else block(a)
    return chain.head(a)


def accuracy_with_deleted(model: nn.Module, images: Tensor, labels: Tensor, names: Sequence[str], *,
                          chunk: int = CHUNK) -> float:
    """Test accuracy (eval mode) with every block in ``names`` deleted at once."""
    correct = 0
    with evaluating(model), torch.inference_mode():
        for x, y in _batches(images, labels, chunk):
            correct += int((forward_with_deleted(model, x, names).argmax(1) == y).sum())
    return correct / len(labels)


def deletable_blocks(study: LesionStudy) -> list[str]:
    """Names of the blocks that a lesion study could delete."""
    return [b.name for b in study.blocks if b.acc is not None]


def multi_lesion(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    candidates: Sequence[str],
    counts: Sequence[int],
    *,
    trials: int = 3,
    seed: int = 0,
    chunk: int = CHUNK,
) -> list[MultiLesion]:
    """Accuracy with ``k`` random blocks of ``candidates`` deleted, ``trials`` draws per ``k`` (Veit et al., Fig. 5)."""
    if trials < 1:
        raise InsightError(f"trials must be at least 1, got {trials}")
    bad = [k for k in counts if not 0 <= k <= len(candidates)]
    if bad:
        raise InsightError(f"cannot delete {bad} of {len(candidates)} deletable blocks")
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in counts:
        accs = []
        for _ in range(1 if k in (0, len(candidates)) else trials):  # one way to delete none or all
            pick = torch.randperm(len(candidates), generator=g)[:k].tolist()
            accs.append(accuracy_with_deleted(model, images, labels, [candidates[i] for i in pick], chunk=chunk))
        out.append(MultiLesion(k, tuple(accs)))
    return out
