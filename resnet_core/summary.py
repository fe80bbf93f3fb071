"""Layer-by-layer summaries of the registered models, and the paper's Table 1 for each of them.

``summarize(name)`` runs torchinfo once and returns plain frozen dataclasses: every layer, the
totals and one row per stage in the form of Table 1 of He et al. (2015). ``compare_models()``
gives the few numbers per variant that the comparison charts need.

Both trace the model on PyTorch's ``meta`` device: modules are built and run with shapes only,
no storage and no arithmetic. Parameter counts, output shapes and mult-adds depend only on shapes,
so they are exactly what a real forward pass gives (``tests/test_summary.py`` checks this), while
ResNet-152 takes a fraction of a second instead of seconds of weight init and convolution.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torchinfo
from torch import nn

from resnet_core.layer_text import conv_text, max_pool_text
from resnet_core.models import (
    BasicBlock,
    Bottleneck,
    Residual,
    create_model,
    get_spec,
    list_models,
    shortcut_kind,
)
from resnet_core.settings import PACKAGE_DIR

__all__ = [
    "ComparisonRow",
    "LayerRow",
    "ModelSummary",
    "StageRow",
    "Totals",
    "compare_models",
    "format_count",
    "layout_source",
    "records",
    "shipped_comparison",
    "summarize",
    "write_comparison",
]

#: ``compare_models()`` as measured when the package was built: tracing all 12 variants and their
#: plain twins takes 5-12 s on 2 cores, the Architecture page's first view should not.
#: Regenerate with ``python -c "from resnet_core.summary import write_comparison; write_comparison()"``
#: (tests/test_summary.py fails when it no longer matches the registry).
COMPARISON_FILE = PACKAGE_DIR / "comparison.json"

@dataclass(frozen=True)
class LayerRow:
    """One module call in forward order, as torchinfo saw it."""

    name: str  # as in ``model.named_modules()``, e.g. "layer1.0.conv1"
    type: str  # class name, e.g. "Conv2d"
    depth: int  # nesting level: 1 for the model's direct children
    output_shape: tuple[int, ...]  # (batch, channels, height, width) for a batch of one
    parameters: int  # of the module and everything inside it
    mult_adds: int  # multiply-accumulates (MACs) of the module and everything inside it


@dataclass(frozen=True)
class Totals:
    """Whole-model figures for a batch of one image."""

    parameters: int
    trainable_parameters: int
    mult_adds: int  # MACs; one MAC is one multiply and one add
    input_bytes: int  # one float32 image
    forward_backward_bytes: int  # torchinfo's "forward/backward pass size": activations kept for backprop
    params_bytes: int

    @property
    def total_bytes(self) -> int:
        """Input, activations and parameters together (torchinfo's "estimated total size")."""
        return self.input_bytes + self.forward_backward_bytes + self.params_bytes


@dataclass(frozen=True)
class StageRow:
    """One row of the paper's Table 1: a stage, its output size and its block layout."""

    stage: str  # paper's name ("conv1", "conv2_x", ...) or the module's name for ResNet-9
    modules: tuple[str, ...]  # the top-level modules this row covers, e.g. ("maxpool", "layer1")
    output_size: tuple[int, int]  # (height, width) of the stage's output feature map
    layout: str  # e.g. "[3x3, 64; 3x3, 64] x 2"
    repeats: int  # blocks in the stage; 1 for the stem and the head
    shortcut: str  # "identity", "projection + identity", "zero-pad + identity", "none" or ""
    parameters: int
    mult_adds: int


@dataclass(frozen=True)
class ModelSummary:
    """Everything the Architecture page shows about one variant."""

    name: str
    residual: bool
    input_size: int  # pixels, square
    description: str
    totals: Totals
    stages: tuple[StageRow, ...]
    layers: tuple[LayerRow, ...]


@dataclass(frozen=True)
class ComparisonRow:
    """The numbers one variant contributes to the comparison charts."""

    name: str
    family: str
    depth: int  # weighted layers, counted the paper's way
    input_size: int  # native input size the mult-adds are measured at
    parameters: int
    mult_adds: int
    plain_parameters: int  # the plain twin: no projection shortcuts, so fewer for ImageNet nets
    plain_mult_adds: int


def _meta_model(name: str, residual: bool) -> nn.Module:
    """Build a registered model on the meta device: shapes only, no memory, no init cost."""
    with torch.device("meta"):
        return create_model(name, residual=residual)


def _trace(model: nn.Module, input_size: int) -> torchinfo.ModelStatistics:
    """Run torchinfo over one meta-device forward pass of a single image."""
    # torchinfo 1.8 keeps the last trace of each model class (and so the model) in a module-level
    # dict whatever ``cache_forward_pass`` says; a meta model has no storage, so that costs nothing.
    # ``depth`` only limits torchinfo's printed table; its rows always reach every module.
    return torchinfo.summary(model, input_size=(1, 3, input_size, input_size), device="meta", verbose=0)


def _layer_rows(model: nn.Module, stats: torchinfo.ModelStatistics) -> tuple[LayerRow, ...]:
    qualified = {id(m): n for n, m in model.named_modules()}
    # nn.Identity (the CIFAR stems' stand-in for the max pool) does nothing: no row for it (issue 12).
    infos = [info for info in stats.summary_list if info.depth > 0 and not isinstance(info.module, nn.Identity)]
    rows = []
    for i, info in enumerate(infos):
        if info.is_leaf_layer:
            mult_adds = info.macs
        else:
            # torchinfo counts MACs on leaves only; a container's are those of the leaves inside it,
            # which follow it in forward order until the next row at its own depth or above.
            mult_adds = 0
            for inner in infos[i + 1 :]:
                if inner.depth <= info.depth:
                    break
                if inner.is_leaf_layer:
                    mult_adds += inner.macs
        rows.append(
            LayerRow(
                name=qualified[id(info.module)],
                type=info.class_name,
                depth=info.depth,
                output_shape=tuple(info.output_size),
                parameters=info.num_params,
                mult_adds=mult_adds,
            )
        )
    return tuple(rows)


#: A stage's shortcuts as its Table 1 row says them: the first block's kind, identity after it.
_STAGE_SHORTCUT = {"identity": "identity", "projection": "projection + identity",
                   "zero_pad": "zero-pad + identity", "none": "none"}


def _unit_text(unit: nn.Module) -> str:
    """A ResNet-9 ``conv_bn`` unit as "3x3, 128" plus its pool, if any."""
    parts = [conv_text(m) for m in unit.modules() if isinstance(m, nn.Conv2d)]
    parts += [max_pool_text(m) for m in unit.modules() if isinstance(m, nn.MaxPool2d)]
    return ", ".join(parts)


def _block_text(block: nn.Module) -> str:
    """A residual block as the paper writes it: its convolutions in brackets, shortcut left out."""
    convs = [m for n, m in block.named_modules() if isinstance(m, nn.Conv2d) and not n.startswith("downsample")]
    # Table 1 gives the stride once per stage, in prose; the bracket lists kernel and width only.
    return "[" + "; ".join(conv_text(c, stride=False) for c in convs) + "]"


def _stage_layout(stage: nn.Module) -> tuple[str, int, str]:
    """Layout text, number of blocks and shortcut kind of one ``layerN`` module."""
    blocks = list(stage.children())
    if blocks and all(isinstance(b, (BasicBlock, Bottleneck)) for b in blocks):
        first = blocks[0]
        return f"{_block_text(first)} x {len(blocks)}", len(blocks), _STAGE_SHORTCUT[shortcut_kind(first)]
    # ResNet-9: a stage is one conv_bn unit (Conv2d, BN, ReLU, pool), or a unit followed by a
    # Residual around two more.
    parts, shortcut = [], "none"
    units = [stage] if isinstance(stage[0], nn.Conv2d) else blocks
    for unit in units:
        if isinstance(unit, Residual):
            inner = "; ".join(_unit_text(u) for u in unit.fn)
            parts.append(f"[{inner}]")
            if shortcut_kind(unit) == "identity":
                shortcut = "identity"
        else:
            parts.append(_unit_text(unit))
    return " + ".join(parts), 1, shortcut


def _sum_rows(layers: tuple[LayerRow, ...], modules: tuple[str, ...]) -> tuple[int, int]:
    """Parameters and mult-adds of the given top-level modules.

    A module called twice (a shared ReLU) has two rows: its parameters count once, its work twice.
    """
    rows = [r for r in layers if r.depth == 1 and r.name in modules]
    params = sum({r.name: r.parameters for r in rows}.values())
    return params, sum(r.mult_adds for r in rows)


def _output_hw(layers: tuple[LayerRow, ...], module: str) -> tuple[int, int]:
    shape = [r.output_shape for r in layers if r.name == module][-1]
    return shape[-2], shape[-1]


def _stage_rows(model: nn.Module, layers: tuple[LayerRow, ...]) -> tuple[StageRow, ...]:
    children = dict(model.named_children())
    names = list(children)
    stage_names = [n for n in names if n.startswith("layer")]
    first, last = names.index(stage_names[0]), names.index(stage_names[-1])
    stem, head = names[:first], names[last + 1 :]
    is_resnet = "conv1" in children
    rows = []

    # Table 1 lists the 3x3 max pool at the top of conv2_x, so the stem row ends before it.
    # CIFAR stems keep an ``nn.Identity`` where the pool was; it does nothing, so it is left out.
    pre_pool = tuple(n for n in stem if not isinstance(children[n], (nn.MaxPool2d, nn.Identity)))
    pools = tuple(n for n in stem if isinstance(children[n], nn.MaxPool2d))
    stem_conv = next(m for m in children[stem[0]].modules() if isinstance(m, nn.Conv2d))
    params, macs = _sum_rows(layers, pre_pool)
    rows.append(
        StageRow(
            stage="conv1" if is_resnet else stem[0],
            modules=pre_pool,
            output_size=_output_hw(layers, pre_pool[0]),
            layout=conv_text(stem_conv),
            repeats=1,
            shortcut="",
            parameters=params,
            mult_adds=macs,
        )
    )

    for i, stage in enumerate(stage_names):
        layout, repeats, shortcut = _stage_layout(children[stage])
        modules = (stage,)
        if i == 0 and pools:
            pool = children[pools[0]]
            layout = f"{pool.kernel_size}x{pool.kernel_size} max pool, stride {pool.stride}; {layout}"
            modules = pools + modules
        params, macs = _sum_rows(layers, modules)
        rows.append(
            StageRow(
                stage=f"conv{i + 2}_x" if is_resnet else stage,
                modules=modules,
                output_size=_output_hw(layers, stage),
                layout=layout,
                repeats=repeats,
                shortcut=shortcut,
                parameters=params,
                mult_adds=macs,
            )
        )

    pool_kind = "max" if any(isinstance(children[n], nn.AdaptiveMaxPool2d) for n in head) else "average"
    fc = next(children[n] for n in head if isinstance(children[n], nn.Linear))
    params, macs = _sum_rows(layers, tuple(head))
    rows.append(
        StageRow(
            stage="head",
            modules=tuple(head),
            output_size=(1, 1),
            layout=f"global {pool_kind} pool, {fc.out_features}-d fc",
            repeats=1,
            shortcut="",
            parameters=params,
            mult_adds=macs,
        )
    )
    return tuple(rows)


def summarize(name: str, *, residual: bool = True, input_size: int | None = None) -> ModelSummary:
    """Layers, totals and Table 1 of a registered model, for one image of ``input_size`` pixels.

    ``input_size`` defaults to the variant's native size (224 for ImageNet, 32 for CIFAR).
    Raises ``KeyError`` (listing the names) for an unknown model.
    """
    spec = get_spec(name)
    size = spec.input_size if input_size is None else input_size
    model = _meta_model(name, residual)
    stats = _trace(model, size)
    layers = _layer_rows(model, stats)
    totals = Totals(
        parameters=stats.total_params,
        trainable_parameters=stats.trainable_params,
        mult_adds=stats.total_mult_adds,
        # Exact tensor bytes; torchinfo's own figure adds the Python storage object's ~64 bytes.
        input_bytes=4 * 3 * size * size,
        forward_backward_bytes=stats.total_output_bytes,
        params_bytes=stats.total_param_bytes,
    )
    return ModelSummary(
        name=name,
        residual=residual,
        input_size=size,
        description=spec.description,
        totals=totals,
        stages=_stage_rows(model, layers),
        layers=layers,
    )


def _params_and_macs(name: str, residual: bool) -> tuple[int, int]:
    spec = get_spec(name)
    stats = _trace(_meta_model(name, residual), spec.input_size)
    return stats.total_params, stats.total_mult_adds


def compare_models(names: list[str] | None = None) -> tuple[ComparisonRow, ...]:
    """Parameters, mult-adds at the native input size and depth of each variant and its plain twin.

    ``names`` defaults to every registered model, both families.
    """
    rows = []
    for name in list_models() if names is None else names:
        spec = get_spec(name)
        params, macs = _params_and_macs(name, residual=True)
        plain_params, plain_macs = _params_and_macs(name, residual=False)
        rows.append(
            ComparisonRow(
                name=name,
                family=spec.family,
                depth=spec.depth,
                input_size=spec.input_size,
                parameters=params,
                mult_adds=macs,
                plain_parameters=plain_params,
                plain_mult_adds=plain_macs,
            )
        )
    return tuple(rows)


def write_comparison(path: str | Path = COMPARISON_FILE) -> Path:
    """Measure every registered variant and write the rows :func:`shipped_comparison` reads."""
    path = Path(path)
    rows = [asdict(row) for row in compare_models()]
    path.write_text(json.dumps(rows, indent=1) + "\n")
    return path


def shipped_comparison(path: str | Path = COMPARISON_FILE) -> tuple[ComparisonRow, ...]:
    """:func:`compare_models` for every registered variant, read from the shipped file.

    A variant registered after the file was written (or a missing file) is measured now, so the
    answer is always complete and in registry order.
    """
    known: dict[str, ComparisonRow] = {}
    try:
        rows = json.loads(Path(path).read_text())
        names = {f.name for f in fields(ComparisonRow)}
        known = {r["name"]: ComparisonRow(**r) for r in rows if isinstance(r, dict) and set(r) == names}
    except (OSError, ValueError, TypeError):
        pass  # measured below instead
    missing = [n for n in list_models() if n not in known]
    measured = {row.name: row for row in compare_models(missing)} if missing else {}
    return tuple(known.get(n) or measured[n] for n in list_models())

def layout_source(name: str) -> str:
    """Where the stage layout of a variant is described: the paper's Table 1 only covers ImageNet nets."""
    spec = get_spec(name)
    if spec.family == "imagenet":
        return "as in Table 1 of the paper"
    if spec.paper_family:
        return "as in section 4.2 of the paper (the 6n+2 CIFAR-10 networks)"
    if spec.block == "conv_bn":
        return "as in Page, \"How to train your ResNet\" (2018)"
    return "the ImageNet layout of Table 1 with a 3x3 stride-1 stem and no max pool, for 32 px inputs"


def records(rows: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Dataclass rows as a list of dicts, the table form ``st.dataframe`` and friends accept.

    Tuples (shapes, sizes) become "1 x 64 x 56 x 56" strings so a table shows them in one cell.
    """
    out = []
    for row in rows:
        record = asdict(row)
        for key, value in record.items():
            if isinstance(value, tuple):
                record[key] = " x ".join(map(str, value)) if all(isinstance(v, int) for v in value) else ", ".join(value)
        out.append(record)
    return out


def format_count(value: float) -> str:
    """A large count in SI units with two decimals: 1814083944 -> "1.81 G", 269722 -> "269.72 k"."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}"
    return f"{value:g}"
