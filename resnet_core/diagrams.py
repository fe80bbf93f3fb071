"""Graphviz DOT source for a network's blocks, stages and overview, drawn from its anatomy.

The app shows them laid out ahead of time by the ``dot`` program (:mod:`resnet_core.diagram_file`),
or with ``st.graphviz_chart`` where none was shipped; building them here keeps
them testable and the page free of layout code. Everything is drawn from a
:class:`~resnet_core.anatomy.NetworkAnatomy`, so widths, shapes and shortcuts are the chosen
variant's own. In a block diagram the input node is ``x``, the addition ``add`` and the output
``out``; the shortcut is the edge ``x -> add``.
"""

from __future__ import annotations

from resnet_core.anatomy_records import BlockAnatomy, NetworkAnatomy, StageAnatomy, format_shape

__all__ = ["FONT_SIZE", "FONT_SIZES", "PRESENTER_FONT_SIZE", "SHORTCUT_STYLES", "block_dot", "network_dot", "stage_dot"]

#: Edge attributes per shortcut kind: colour-blind-safe hues (Okabe-Ito) and a line style, so
#: the kinds differ in more than colour.
SHORTCUT_STYLES: dict[str, str] = {
    "identity": 'color="#D55E00", fontcolor="#D55E00", penwidth=2',
    "projection": 'color="#0072B2", fontcolor="#0072B2", penwidth=2.5',
    "zero_pad": 'color="#D55E00", fontcolor="#D55E00", penwidth=2, style=dashed',
}
_KIND_TITLES = {
    "basic": "basic block",
    "bottleneck": "bottleneck block",
    "residual": "block of two convolutions",
    "conv_bn": "convolution unit",
}
#: Node text in points; edge labels one smaller, titles and the "+" larger, in proportion. A
#: presenter passes a larger size (``webui.presenter``): the diagrams must read on a projector.
FONT_SIZE = 11
PRESENTER_FONT_SIZE = 17
#: The sizes the app draws at, and so the ones ``resnet_core.diagram_file`` ships laid out.
FONT_SIZES = (FONT_SIZE, PRESENTER_FONT_SIZE)


def _header(font_size: int) -> list[str]:
    """Node and edge defaults at ``font_size``."""
    return [
        f'  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize={font_size}];',
        f'  edge [fontname="Helvetica", fontsize={font_size - 1}];',
    ]


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def block_dot(block: BlockAnatomy, *, font_size: int = FONT_SIZE) -> str:
    """DOT source of one block as the variant builds it: F's layers, the addition, the shortcut.

    A block without a shortcut (a plain twin's, or a ResNet-9 convolution unit) has no addition.
    """
    residual = block.has_shortcut
    if block.kind == "conv_bn":
        title = f"Convolution unit, no shortcut · {block.name}"
    else:
        title = f"{'Residual' if residual else 'Plain'} {_KIND_TITLES[block.kind]} · {block.name}"
    lines = [
        "digraph block {",
        f'  graph [rankdir=TB, label="{_quote(title)}", labelloc=t, fontname="Helvetica", fontsize={font_size + 3}, nodesep=0.6, ranksep=0.3];',
        *_header(font_size),
        f'  x [label="x: {format_shape(block.in_shape)}", shape=plaintext, style=""];',
        "  subgraph cluster_f {",
        f'    label="{"F(x)" if residual else "H(x)"}"; labeljust=l; style=dashed; color="#7a8699"; fontname="Helvetica"; fontsize={font_size + 3};',
    ]
    ids = [f"s{i}" for i in range(len(block.steps))]
    lines += [f'    {i} [label="{_quote(s.text)}"];' for i, s in zip(ids, block.steps)]
    lines.append("  }")
    chain = ["x", *ids]
    out_text = format_shape(block.out_shape)
    if residual:
        lines.append(f'  add [label="+", shape=circle, fillcolor="#fde9c9", fontsize={font_size + 5}];')
        chain.append("add")
    for j, text in enumerate(block.after_add):
        lines.append(f'  a{j} [label="{_quote(text)}"];')
        chain.append(f"a{j}")
    what = "F(x) + shortcut" if residual else "output"
    lines.append(f'  out [label="{what}: {out_text}", shape=plaintext, style=""];')
    chain.append("out")
    lines += [f"  {a} -> {b};" for a, b in zip(chain, chain[1:])]
    if residual:
        # Section 3.2: the input skips F and is added back, unchanged or matched to F's new shape.
        if block.shortcut == "identity":
            # Padded: Graphviz sets a short label's centre just beside the curved edge, and a browser
            # font a little wider than Graphviz's Helvetica metrics lets the edge cross its first letter.
            label = f"   {block.shortcut_text}   "
        else:
            label = f"{block.shortcut.replace('_', '-')}: {block.shortcut_text}"
        lines.append(f'  x -> add [label="{_quote(label)}", {SHORTCUT_STYLES[block.shortcut]}];')
    lines.append("}")
    return "\n".join(lines)


def stage_dot(stage: StageAnatomy, *, max_blocks: int = 5, font_size: int = FONT_SIZE) -> str:
    """One stage as a column of blocks with their shortcut arcs (the paper's Figure 3, one stage).

    A stage with more than ``max_blocks`` blocks keeps its first ones and its last and folds the
    identical ones between into a single "... N more" node, as Table 1's "x N" does.
    """
    blocks = list(stage.blocks)
    folded: tuple[int, BlockAnatomy, BlockAnatomy] | None = None
    if len(blocks) > max_blocks:
        keep = max_blocks - 1
        folded = (len(blocks) - keep, blocks[keep - 1], blocks[-2])
        blocks = blocks[: keep - 1] + [blocks[-1]]
    title = stage.name if stage.paper_name == stage.name else f"{stage.paper_name} ({stage.name})"
    lines = [
        "digraph stage {",
        f'  graph [rankdir=TB, label="{title}", labelloc=t, fontname="Helvetica", fontsize={font_size + 3}, ranksep=0.25];',
        *_header(font_size),
        f'  in [label="{format_shape(stage.in_shape)}", shape=plaintext, style=""];',
    ]
    prev = "in"
    for i, block in enumerate(blocks):
        if folded is not None and i == len(blocks) - 1:
            count, a, b = folded
            lines.append(
                f'  more [label="... {count} more blocks like the one above\\n({a.name} to {b.name}, '
                f'{_quote(b.shortcut.replace("_", "-"))} shortcuts)", shape=plaintext, style="", fontcolor="#5a6478"];'
            )
            lines.append(f"  {prev} -> more;")
            prev = "more"
        steps = " → ".join(s.text for s in block.steps)
        label = f"{block.name}\\n{_quote(steps)}\\n→ {format_shape(block.out_shape)}"
        lines.append(f'  b{i} [label="{label}"];')
        lines.append(f"  {prev} -> b{i};")
        if block.has_shortcut:
            lines.append(f'  p{i} [label="+", shape=circle, fillcolor="#fde9c9", fontsize={font_size + 3}, width=0.3];')
            lines.append(f"  b{i} -> p{i};")
            text = "" if block.shortcut == "identity" else block.shortcut_text
            lines.append(f'  {prev} -> p{i} [label="{_quote(text)}", {SHORTCUT_STYLES[block.shortcut]}];')
            prev = f"p{i}"
        else:
            prev = f"b{i}"
    lines.append("}")
    return "\n".join(lines)


def network_dot(anatomy: NetworkAnatomy, *, font_size: int = FONT_SIZE) -> str:
    """The whole network top to bottom: input, stem, one node per stage, head, each with its output shape."""
    stem = "\\n".join(_quote(s.text) for s in anatomy.stem)
    lines = [
        "digraph network {",
        '  graph [rankdir=TB, fontname="Helvetica", ranksep=0.25];',
        *_header(font_size),
        f'  input [label="image: {format_shape(anatomy.input_shape)}", shape=plaintext, style=""];',
        f'  stem [label="stem\\n{stem}\\n→ {format_shape(anatomy.stem[-1].shape)}"];',
        "  input -> stem;",
    ]
    prev = "stem"
    for stage in anatomy.stages:
        kinds = {b.kind for b in stage.blocks}
        n = len(stage.blocks)
        what = f"{n} {_KIND_TITLES[next(iter(kinds))]}{'s' if n > 1 else ''}" if len(kinds) == 1 else " + ".join(_KIND_TITLES[b.kind] for b in stage.blocks)
        shortcuts = _quote(stage.shortcut_summary())
        label = f"{stage.paper_name}: {what}\\nshortcuts: {shortcuts}\\n→ {format_shape(stage.out_shape)}"
        fill = "#fde9c9" if any(b.has_shortcut for b in stage.blocks) else "#eef3fb"
        lines.append(f'  {stage.name} [label="{label}", fillcolor="{fill}"];')
        lines.append(f"  {prev} -> {stage.name};")
        prev = stage.name
    head = "\\n".join(_quote(s.text) for s in anatomy.head)
    lines.append(f'  head [label="head\\n{head}"];')
    lines.append(f"  {prev} -> head;")
    lines.append(f'  scores [label="{anatomy.head[-1].shape[0]} class scores", shape=plaintext, style=""];')
    lines.append("  head -> scores;")
    lines.append("}")
    return "\n".join(lines)
