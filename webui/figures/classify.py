"""Plotly figure for the Classify page: the top classes as bars."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from resnet_core.classify import Prediction
from webui.style import GREY, INK, PLAIN, layout


def top5_figure(top: Sequence[Prediction], true_label: str | None, ceiling: float | None) -> go.Figure:
    """Horizontal bars, most probable on top; the true class, when known, in the accent colour.

    ``ceiling``: the probability training aimed at for the right class (label smoothing,
    ``resnet_core.confidence``), drawn as a dashed line when below 1.
    """
    rows = list(reversed(top))
    fig = go.Figure(go.Bar(
        x=[p.probability for p in rows], y=[p.label for p in rows], orientation="h",
        # The theme's red: the one bar to find (the other bars are grey, not plain nets).
        marker_color=[PLAIN if p.label == true_label else GREY for p in rows],
        text=[f"{p.probability:.1%}" for p in rows], textposition="auto", cliponaxis=False,
        hovertemplate="%{y}: %{x:.2%}<extra></extra>",
    ))
    if ceiling is not None and ceiling < 1:
        fig.add_vline(x=ceiling, line_dash="dash", line_color=INK,
                      annotation_text=f"training target {ceiling:.0%}", annotation_position="top")
    layout(fig, None, "probability", height=300, legend="none")
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return fig
