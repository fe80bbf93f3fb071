"""The whole network, block by block, read off the model itself (the paper's Figure 3 idea).

``network_anatomy(name)`` builds a registered variant on PyTorch's ``meta`` device, runs one
forward pass with hooks on every module, and returns the stem, each stage with each of its
blocks (what its residual function F does, its output shape and its shortcut) and the head.
Nothing here knows a variant by name: the walk reads the modules, so a newly registered
variant is drawn correctly the day it is registered (``tests/test_anatomy.py`` walks them all).

Shortcut kinds, as in He et al. (2015), section 3.3 and 4.2:

* ``identity``: the block's input is added back unchanged (its shape does not change);
* ``projection``: option B, a strided 1x1 convolution and BN match the new shape;
* ``zero_pad``: option A, subsample and pad the new channels with zeros, no parameters;
* ``none``: nothing is added, in a plain twin or in a unit that never had a shortcut
  (ResNet-9's single convolutions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from resnet_core.anatomy_records import (  # re-exported: the records live where torch is not needed
    SHORTCUT_LABELS,
    BlockAnatomy,
    NetworkAnatomy,
    Shape,
    StageAnatomy,
    Step,
    format_shape,
)
from resnet_core.model_state import evaluating
from resnet_core.layer_text import conv_text, max_pool_text
from resnet_core.models import (
    BasicBlock,
    Bottleneck,
    Residual,
    ResNet,
    ShortcutKind,
    ZeroPadShortcut,
    create_model,
    get_spec,
    shortcut_kind,
)

__all__ = [
    "BlockAnatomy",
    "NetworkAnatomy",
    "StageAnatomy",
    "Step",
    "anatomy_of",
    "format_shape",
    "network_anatomy",
    "representative_blocks",
]


def network_anatomy(name: str, *, residual: bool = True, input_size: int | None = None) -> NetworkAnatomy:
    """The anatomy of a registered variant (or its plain twin) at ``input_size`` (default: native)."""
    spec = get_spec(name)
    with torch.device("meta"):  # shapes only: no storage, no init cost (as in summary.py)
        model = create_model(name, residual=residual)
    return anatomy_of(model, spec.input_size if input_size is None else input_size, name=name)


# --- The walk ---------------------------------------------------------------------------------


@dataclass
class _Call:
    name: str
    module: nn.Module
    in_shape: Shape
    out_shape: Shape


class _Recorder:
    """Forward hooks on every module: leaf calls in order, and each module's last in/out shapes."""

    def __init__(self, model: nn.Module) -> None:
        self.leaves: list[_Call] = []
        self.shapes: dict[str, tuple[Shape, Shape]] = {}
        self._handles = [m.register_forward_hook(self._hook(n)) for n, m in model.named_modules() if n]

    def _hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: Tensor) -> None:
            in_shape, out_shape = tuple(inputs[0].shape[1:]), tuple(output.shape[1:])
            self.shapes[name] = (in_shape, out_shape)
            if not any(True for _ in module.children()):
                self.leaves.append(_Call(name, module, in_shape, out_shape))

        return hook

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


def anatomy_of(model: nn.Module, input_size: int, *, name: str = "") -> NetworkAnatomy:
    """The anatomy of a ResNet or ResNet-9 ``model`` (on any device; meta is cheapest).

    The model must name its stages ``layer1``..``layerN`` between a stem and a head, as every
    registered variant does.
    """
    device = next(model.parameters()).device
    x = torch.zeros(1, 3, input_size, input_size, device=device)
    recorder = _Recorder(model)
    try:
        # Eval mode: a training-mode BN refuses a 1x1 map of one image (ResNet-18 at 32 px).
        with torch.no_grad(), evaluating(model):
            model(x)
    finally:
        recorder.close()

    children = list(model.named_children())
    stage_names = [n for n, _ in children if n.startswith("layer")]
    if not stage_names:
        raise ValueError(f"{type(model).__name__} has no stages named layer1, layer2, ...")
    first = next(i for i, (n, _) in enumerate(children) if n == stage_names[0])
    last = next(i for i, (n, _) in enumerate(children) if n == stage_names[-1])
    stem_names = {n for n, _ in children[:first]}
    head_names = {n for n, _ in children[last + 1 :]}

    def leaves_under(prefixes: set[str], exclude: str | None = None) -> list[_Call]:
        return [
            c for c in recorder.leaves
            if c.name.split(".")[0] in prefixes or any(c.name.startswith(p + ".") for p in prefixes)
            if exclude is None or not (c.name == exclude or c.name.startswith(exclude + "."))
        ]

    stem = _steps(leaves_under(stem_names))
    stages = []
    for i, stage_name in enumerate(stage_names):
        stage = getattr(model, stage_name)
        blocks = tuple(_block(unit_name, unit, recorder) for unit_name, unit in _units(stage_name, stage))
        in_shape, out_shape = recorder.shapes[stage_name]
        paper_name = f"conv{i + 2}_x" if isinstance(model, ResNet) else stage_name
        stages.append(StageAnatomy(stage_name, paper_name, in_shape, out_shape, blocks))
    head = _steps(leaves_under(head_names))
    return NetworkAnatomy(
        name=name or type(model).__name__,
        residual=bool(getattr(model, "residual", True)),
        input_shape=(3, input_size, input_size),
        stem=tuple(stem),
        stages=tuple(stages),
        head=tuple(head),
    )


def _units(stage_name: str, stage: nn.Module) -> list[tuple[str, nn.Module]]:
    """The blocks of a stage: its children, or the stage itself when it is a single conv unit (ResNet-9)."""
    children = list(stage.named_children())
    if children and isinstance(children[0][1], nn.Conv2d):
        return [(stage_name, stage)]
    return [(f"{stage_name}.{n}", m) for n, m in children]


def _block(name: str, block: nn.Module, recorder: _Recorder) -> BlockAnatomy:
    in_shape, out_shape = recorder.shapes[name]
    own = [c for c in recorder.leaves if c.name.startswith(name + ".")]
    shortcut: ShortcutKind = shortcut_kind(block)
    shortcut_text = "identity" if shortcut == "identity" else ""
    after_add: tuple[str, ...] = ()
    if isinstance(block, (BasicBlock, Bottleneck)):
        kind = "basic" if isinstance(block, BasicBlock) else "bottleneck"
        down = f"{name}.downsample"
        body = [c for c in own if not (c.name == down or c.name.startswith(down + "."))]
        # The paper's blocks end in a ReLU applied after the addition (post-activation, Figure 2).
        body, after_add = body[:-1], ("ReLU",)
        if shortcut == "zero_pad":
            sc = block.downsample
            assert isinstance(sc, ZeroPadShortcut)  # what shortcut_kind saw
            shortcut_text = f"subsample by {sc.stride}, pad {sc.extra} zero channels"
        elif shortcut == "projection":
            shortcut_text = ", ".join(s.text for s in _steps([c for c in own if c.name.startswith(down + ".")]))
    elif isinstance(block, Residual):
        kind, body = "residual", own
    else:
        kind, body = "conv_bn", own
    params = sum(p.numel() for p in block.parameters())
    return BlockAnatomy(name, kind, in_shape, out_shape, tuple(_steps(body)), after_add, shortcut, shortcut_text, params)


def _steps(calls: list[_Call]) -> list[Step]:
    """Leaf calls as diagram steps: a BN and ReLU join into one "BN, ReLU" step; ``Identity`` is dropped."""
    steps: list[Step] = []
    for call in calls:
        m = call.module
        if isinstance(m, nn.Identity):
            continue  # the CIFAR stems' stand-in for the max pool: it does nothing
        if isinstance(m, nn.ReLU) and steps and steps[-1].text == "BN":
            steps[-1] = Step("BN, ReLU", call.out_shape)
            continue
        steps.append(Step(_text(m), call.out_shape))
    return steps


def _text(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        return conv_text(m, noun="conv")
    if isinstance(m, nn.BatchNorm2d):
        return "BN"
    if isinstance(m, nn.ReLU):
        return "ReLU"
    if isinstance(m, nn.MaxPool2d):
        return max_pool_text(m)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return "global average pool"
    if isinstance(m, nn.AdaptiveMaxPool2d):
        return "global max pool"
    if isinstance(m, nn.Linear):
        return f"fc, {m.out_features}"
    return type(m).__name__


def representative_blocks(anatomy: NetworkAnatomy) -> list[BlockAnatomy]:
    """One block of each sort the network has, in order: kind, shortcut, and whether the shape changes.

    ResNet-18: an identity block and a projection block; ResNet-50: a projection and an identity
    bottleneck; a CIFAR ResNet: identity and zero-padding; the plain twins: the same without shortcuts.
    """
    seen: set[tuple[str, str, bool]] = set()
    chosen = []
    for block in anatomy.blocks:
        key = (block.kind, block.shortcut, block.in_shape != block.out_shape)
        if key not in seen:
            seen.add(key)
            chosen.append(block)
    return chosen
