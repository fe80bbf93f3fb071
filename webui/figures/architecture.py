"""Plotly figures for the Architecture page: the variants compared, and the paper's cost against error."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from resnet_core.summary import ComparisonRow
from webui.style import FAMILY, INK, layout, log_axis

HEIGHT = 380  # px: three charts side by side, each with a row of variant names under it


def _colours(rows: Sequence[ComparisonRow]) -> list[str]:
    return [FAMILY[r.family] for r in rows]


def parameters_figure(rows: Sequence[ComparisonRow]) -> go.Figure:
    """Parameters of each variant and of its plain twin, log scale."""
    names, colours = [r.name for r in rows], _colours(rows)
    fig = go.Figure([
        go.Bar(name="residual", x=names, y=[r.parameters for r in rows], marker_color=colours),
        # Hatched and outlined, not just paler: the twins must differ in more than colour.
        go.Bar(name="plain twin", x=names, y=[r.plain_parameters for r in rows],
               marker={"color": "white", "line": {"color": colours, "width": 1.5},
                       "pattern": {"shape": "/", "fgcolor": colours, "size": 6, "solidity": 0.4}}),
    ])
    layout(fig, "Parameters", height=HEIGHT)
    fig.update_layout(barmode="group")
    fig.update_yaxes(**log_axis([v for r in rows for v in (r.parameters, r.plain_parameters)]))
    return fig


def mult_adds_figure(rows: Sequence[ComparisonRow]) -> go.Figure:
    """Mult-adds per image at each variant's native size, log scale."""
    fig = go.Figure(go.Bar(x=[r.name for r in rows], y=[r.mult_adds for r in rows], marker_color=_colours(rows)))
    layout(fig, "Mult-adds (MACs) per image", height=HEIGHT, legend="none")
    fig.update_yaxes(**log_axis([r.mult_adds for r in rows]))
    return fig


def depth_figure(rows: Sequence[ComparisonRow]) -> go.Figure:
    """Weighted layers of each variant."""
    fig = go.Figure(go.Bar(x=[r.name for r in rows], y=[r.depth for r in rows], marker_color=_colours(rows)))
    return layout(fig, "Depth (weighted layers)", height=HEIGHT, legend="none")


def cost_error_figure(rows: Sequence[ComparisonRow], errors: Sequence[float]) -> go.Figure:
    """The paper's CIFAR-10 test error (%) against mult-adds, one marker per net, sized by its parameters."""
    fig = go.Figure(go.Scatter(
        x=[r.mult_adds for r in rows], y=list(errors), mode="lines+markers+text",
        text=[f"ResNet-{r.depth}" for r in rows], textposition="top right",
        marker={"size": [8 + r.parameters / 150_000 for r in rows], "color": FAMILY["cifar"],
                "line": {"color": INK, "width": 1}},
        line={"color": FAMILY["cifar"], "dash": "dot"},
        customdata=[[r.parameters] for r in rows],
        hovertemplate="%{text}<br>%{x:.3s} MACs, %{customdata[0]:,} parameters<br>test error %{y:.2f} %<extra></extra>",
    ))
    layout(fig, None, "mult-adds (MACs) per 32x32 image", "CIFAR-10 test error (%)", height=HEIGHT, legend="none")
    fig.update_xaxes(exponentformat="SI", range=[0, 1.2 * max(r.mult_adds for r in rows)])
    fig.update_yaxes(ticksuffix=" %")
    return fig
