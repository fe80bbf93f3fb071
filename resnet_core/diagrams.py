"""Graphviz DOT source for the two ResNet building blocks, with or without the shortcut.

The strings render with ``st.graphviz_chart`` (or the ``dot`` program); building them here keeps
them testable and the page free of layout code. Node ids are stable so tests can look for edges:
the input is ``x``, the addition ``add``, the block's output ``out``.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["block_dot"]

BlockKind = Literal["basic", "bottleneck"]

# (node id, label) of the residual function F(x), top to bottom; the paper's Figure 5.
_LAYERS: dict[str, list[tuple[str, str]]] = {
    "basic": [
        ("conv1", "3x3 conv, 64"),
        ("bn1", "BN, ReLU"),
        ("conv2", "3x3 conv, 64"),
        ("bn2", "BN"),
    ],
    "bottleneck": [
        ("conv1", "1x1 conv, 64"),
        ("bn1", "BN, ReLU"),
        ("conv2", "3x3 conv, 64"),
        ("bn2", "BN, ReLU"),
        ("conv3", "1x1 conv, 256"),
        ("bn3", "BN"),
    ],
}
_INPUT = {"basic": "x (64 channels)", "bottleneck": "x (256 channels)"}


def block_dot(kind: BlockKind, *, residual: bool = True) -> str:
    """DOT source of a basic or bottleneck block; ``residual=False`` draws its plain twin.

    The residual block ends in ``F(x) + x`` followed by ReLU, with the identity shortcut drawn
    from the input to the addition; the plain block has neither the addition nor the shortcut.
    """
    if kind not in _LAYERS:
        raise ValueError(f"unknown block {kind!r}; use 'basic' or 'bottleneck'")
    layers = _LAYERS[kind]
    title = f"{'Residual' if residual else 'Plain'} {kind} block"
    lines = [
        "digraph block {",
        f'  graph [rankdir=TB, label="{title}", labelloc=t, fontname="Helvetica", nodesep=0.6, ranksep=0.3];',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
        f'  x [label="{_INPUT[kind]}", shape=plaintext, style=""];',
        "  subgraph cluster_f {",
        f'    label="{"F(x)" if residual else "H(x)"}"; labeljust=l; style=dashed; color="#7a8699"; fontname="Helvetica";',
    ]
    lines += [f'    {node} [label="{label}"];' for node, label in layers]
    lines.append("  }")
    chain = ["x"] + [node for node, _ in layers]
    if residual:
        lines += [
            '  add [label="+", shape=circle, fillcolor="#fde9c9", fontsize=16];',
            '  relu [label="ReLU"];',
            '  out [label="F(x) + x, after ReLU", shape=plaintext, style=""];',
        ]
        chain += ["add", "relu", "out"]
    else:
        lines += [
            '  relu [label="ReLU"];',
            '  out [label="H(x), after ReLU", shape=plaintext, style=""];',
        ]
        chain += ["relu", "out"]
    lines += [f"  {a} -> {b};" for a, b in zip(chain, chain[1:])]
    if residual:
        # The shortcut: the input skips F and is added back unchanged (identity mapping, section 3.2).
        lines.append('  x -> add [label="identity x", color="#d9822b", penwidth=2, fontcolor="#d9822b"];')
    lines.append("}")
    return "\n".join(lines)
