"""Plotly figure for the Classify page: the top classes as bars."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from resnet_core.classify import Prediction
from webui.style import GREY, INK, PLAIN, layout

LABEL_INSIDE = 0.5  # probability above which a bar is long enough to hold its label


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
        # Labels stay horizontal (Plotly turns text that does not fit a thin bar): beside a short bar,
        # at the start of a long one, clear of the training-target line near its end.
        text=[f"{p.probability:.1%}" for p in rows], textangle=0, cliponaxis=False,
        textposition=["inside" if p.probability > LABEL_INSIDE else "outside" for p in rows],
        insidetextanchor="start",
        hovertemplate="%{y}: %{x:.2%}<extra></extra>",
    ))
    if ceiling is not None and ceiling < 1:
        fig.add_vline(x=ceiling, line_dash="dash", line_color=INK,
                      annotation_text=f"training target {ceiling:.0%}", annotation_position="top")
    layout(fig, None, "probability", height=300, legend="none")
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return fig
