"""Plotly figures for the Why-it-works page, drawn from the typed results of ``resnet_core.insight.results``.

Pure Plotly (no Streamlit), like the other ``webui.figures`` modules, in the app's palette
(``webui.style``): plain nets red, residual nets blue, deeper nets in darker shades.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import plotly.graph_objects as go

from resnet_core.insight.nets import net_label
from resnet_core.insight.results import (
    GradientFlowResult,
    LandscapeResult,
    LesionResult,
    ResponsesResult,
    ShatteredResult,
)
from webui.style import GREY, INK, PALE, colour, layout, log_axis

FreshNet = TypeVar("FreshNet", GradientFlowResult, ShatteredResult)


def _of_kind(runs: Sequence[FreshNet], residual: bool) -> list[FreshNet]:
    return sorted((r for r in runs if r.residual == residual), key=lambda r: r.depth)


def gradient_flow_figure(runs: Sequence[GradientFlowResult], residual: bool, *, y_range: tuple[float, float] | None = None) -> go.Figure:
    """Relative gradient norm per conv layer, input (left) to output (right), one line per depth, log scale."""
    fig = go.Figure()
    mine = _of_kind(runs, residual)
    for i, run in enumerate(mine):
        fig.add_trace(go.Scatter(
            x=list(range(1, len(run.layers) + 1)), y=list(run.relative_grad_norms), mode="lines+markers",
            name=net_label(run.depth, residual), line={"color": colour(residual, i, len(mine)), "width": 2},
            marker={"size": 4}, customdata=list(run.layers),
            hovertemplate="%{customdata}: %{y:.3g}<extra>" + net_label(run.depth, residual) + "</extra>",
        ))
    layout(fig, "Residual nets" if residual else "Plain nets", "conv layer (input → output)", "‖∂L/∂W‖ / ‖W‖")
    # With y_range, the same axis on both sides, so the two charts compare at a glance.
    values = y_range if y_range is not None else [g for run in mine for g in run.relative_grad_norms]
    fig.update_yaxes(**log_axis(values, labels="power"))
    return fig


def gradient_range(runs: Sequence[GradientFlowResult]) -> tuple[float, float]:
    """Smallest and largest relative norm over all runs, padded: a shared y axis for both charts."""
    values = [g for r in runs for g in r.relative_grad_norms if g > 0]
    return min(values) / 2, max(values) * 2


def line_gradient_figure(runs: Sequence[ShatteredResult], residual: bool) -> go.Figure:
    """The gradient along the line, one curve per depth, each scaled to its largest value and stacked."""
    fig = go.Figure()
    mine = _of_kind(runs, residual)
    ticks = []
    for i, run in enumerate(mine):
        g = run.gradient
        peak = max(abs(v) for v in g) or 1.0
        offset = 2.5 * i
        fig.add_trace(go.Scatter(
            x=list(run.t), y=[offset + v / peak for v in g], mode="lines",
            name=f"{net_label(run.depth, residual)} (r = {run.autocorrelation:.2f})",
            line={"color": colour(residual, i, len(mine)), "width": 1.5},
            hovertemplate="t = %{x:.3f}<extra>" + net_label(run.depth, residual) + "</extra>",
        ))
        ticks.append((offset, net_label(run.depth, residual)))
    layout(fig, "Residual nets" if residual else "Plain nets", "position on the line (first image → second)",
            "gradient along the line, scaled")
    fig.update_yaxes(tickvals=[t for t, _ in ticks], ticktext=[label for _, label in ticks], zeroline=False)
    return fig


def autocorrelation_figure(runs: Sequence[ShatteredResult]) -> go.Figure:
    """Neighbour correlation against depth, plain and residual."""
    fig = go.Figure()
    for residual in (False, True):
        mine = _of_kind(runs, residual)
        if mine:
            fig.add_trace(go.Scatter(
                x=[r.depth for r in mine], y=[r.autocorrelation for r in mine], mode="lines+markers",
                name="residual" if residual else "plain", line={"color": colour(residual), "width": 2},
                marker={"size": 8},
            ))
    layout(fig, "Neighbour correlation of the gradient", "depth (layers)", "correlation (1 smooth, 0 white noise)")
    fig.update_yaxes(range=[-0.3, 1.05])
    fig.add_hline(y=0, line={"color": GREY, "width": 1, "dash": "dot"})
    return fig


def _line_label(fig: go.Figure, y: float, text: str, colour: str, *, above: bool) -> None:
    """Name a horizontal guide line in the right margin, beside the plot: never behind its bars or dots.

    ``above``: the text sits on the line, else hangs below it, so an "intact" line just above
    chance keeps its label clear of chance's.
    """
    fig.add_annotation(x=1, xref="paper", xanchor="left", xshift=4, y=y, yref="y", yanchor="bottom" if above else "top",
                       text=text, showarrow=False, align="left", font={"color": colour})


LINE_LABEL_MARGIN = 72  # px right of the plot: room for "intact<br>54.0%", at presenter size too


def lesion_blocks_figure(run: LesionResult, label: str) -> go.Figure:
    """Test accuracy with each block deleted, baseline dashed; blocks that cannot be deleted marked."""
    residual = run.residual
    blocks = run.blocks
    # A block that cannot be deleted is drawn as an outlined, hatched bar at the intact accuracy
    # (nothing changes), its word "kept" above it in the text colour.
    fig = go.Figure(go.Bar(
        x=[b.name for b in blocks], y=[b.acc if b.acc is not None else run.baseline_acc for b in blocks],
        marker={"color": [colour(residual) if b.acc is not None else PALE for b in blocks],
                "line": {"color": [colour(residual) if b.acc is not None else GREY for b in blocks], "width": 1},
                "pattern": {"shape": ["" if b.acc is not None else "/" for b in blocks], "fgcolor": GREY}},
        text=["" if b.acc is not None else "kept" for b in blocks], textposition="outside", textangle=-90,
        textfont={"color": INK}, constraintext="none", cliponaxis=False,
        customdata=["deleted" if b.acc is not None else "not deletable (it changes the shape)" for b in blocks],
        hovertemplate="%{x}: %{y:.1%}, %{customdata}<extra></extra>", name=label,
    ))
    fig.add_hline(y=run.baseline_acc, line={"color": INK, "width": 1.5, "dash": "dash"})
    fig.add_hline(y=0.1, line={"color": GREY, "width": 1, "dash": "dot"}, layer="above")
    layout(fig, label, "deleted block", "test accuracy", legend="none")
    _line_label(fig, run.baseline_acc, f"intact<br>{run.baseline_acc:.1%}", INK, above=True)
    _line_label(fig, 0.1, "chance<br>10 %", GREY, above=False)
    fig.update_layout(margin={"r": LINE_LABEL_MARGIN})
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return fig


def lesion_multi_figure(runs: Sequence[tuple[str, LesionResult]]) -> go.Figure:
    """Test accuracy against the number of blocks deleted at once: mean line, every draw as a dot."""
    fig = go.Figure()
    for label, run in runs:
        c = colour(run.residual)
        fig.add_trace(go.Scatter(
            x=[m.count for m in run.multi], y=[m.mean for m in run.multi], mode="lines+markers",
            name=label, line={"color": c, "width": 2},
        ))
        fig.add_trace(go.Scatter(
            x=[m.count for m in run.multi for _ in m.accs], y=[a for m in run.multi for a in m.accs],
            mode="markers", marker={"color": c, "size": 5, "opacity": 0.4}, showlegend=False, hoverinfo="skip",
        ))
    fig.add_hline(y=0.1, line={"color": GREY, "width": 1, "dash": "dot"})
    layout(fig, "Deleting several blocks at once", "blocks deleted (random draws)", "test accuracy")
    _line_label(fig, 0.1, "chance<br>10 %", GREY, above=False)
    fig.update_layout(margin={"r": LINE_LABEL_MARGIN})
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return fig


def responses_figure(results: Sequence[tuple[str, ResponsesResult]], *, sort: bool) -> go.Figure:
    """Std of each 3x3 layer's response: in layer order, or sorted largest first (Figure 7 top and bottom)."""
    fig = go.Figure()
    plain = [r for _, r in results if not r.residual]
    res = [r for _, r in results if r.residual]
    for label, run in results:
        same = res if run.residual else plain
        stds = sorted(run.stds, reverse=True) if sort else list(run.stds)
        fig.add_trace(go.Scatter(
            x=list(range(1, len(stds) + 1)), y=stds, mode="lines", name=label,
            line={"color": colour(run.residual, same.index(run), len(same)), "width": 2,
                  "dash": "solid" if run.residual else "dot"},
        ))
    title = "Sorted by magnitude" if sort else "In layer order"
    layout(fig, title, "3x3 layer, largest response first" if sort else "3x3 layer (input → output)", "std of response")
    return fig


def local_minima_at(losses: Sequence[float | None]) -> list[int]:
    """Where ``resnet_core.insight.verdicts.local_minima`` counts a local minimum: interior points lower
    than both neighbours, a non-finite loss counting as infinite."""
    v = [x if x is not None and math.isfinite(x) else math.inf for x in losses]
    return [i for i in range(1, len(v) - 1) if v[i] < v[i - 1] and v[i] < v[i + 1]]


def landscape_figure(slices: Sequence[tuple[str, LandscapeResult]], metric: str) -> go.Figure:
    """Loss (log scale) or accuracy along the slice, alpha 0 being the trained weights.

    The loss chart rings every local minimum (named on hover, not in the legend), the number the
    sentences under it compare: a net
    that learnt little lies on a high plateau that looks flat on a shared axis yet is bumpy.
    """
    fig = go.Figure()
    for label, s in slices:
        fig.add_trace(go.Scatter(
            x=list(s.alphas), y=list(s.losses if metric == "loss" else s.accs), mode="lines+markers", name=label,
            line={"color": colour(s.residual), "width": 2}, marker={"size": 5},
        ))
    if metric == "loss":
        for label, s in slices:
            at = local_minima_at(s.losses)
            fig.add_trace(go.Scatter(
                x=[s.alphas[i] for i in at], y=[s.losses[i] for i in at], mode="markers",
                name=f"{label}: {len(at)} local minim{'um' if len(at) == 1 else 'a'}", showlegend=False,
                marker={"symbol": "circle-open", "size": 14, "color": colour(s.residual), "line": {"width": 2}},
                hovertemplate="local minimum at α = %{x:.2f}: loss %{y:.3g}<extra></extra>",
            ))
        layout(fig, "Loss along the slice", "α (step along the direction; 0 = trained weights)", "test loss")
        fig.update_yaxes(**log_axis([v for _, s in slices for v in s.losses], labels="125"))
    else:
        layout(fig, "Accuracy along the slice", "α (step along the direction; 0 = trained weights)", "test accuracy")
        fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.add_vline(x=0, line={"color": GREY, "width": 1, "dash": "dot"})
    return fig
