"""Plotly figures for the Fine-tune page: the training history and the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from resnet_core.finetune import EpochRecord, FinetuneResult
from webui.style import ACCENT, INK, PLAIN, layout


def history_figure(history: Sequence[EpochRecord]) -> go.Figure:
    """Training loss (left axis) and held-out accuracy (right axis) per epoch."""
    x = [r.epoch for r in history]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[r.train_loss for r in history], name="training loss", mode="lines+markers",
                             line={"color": ACCENT}))
    fig.add_trace(go.Scatter(x=x, y=[r.val_acc for r in history], name="held-out accuracy", mode="lines+markers",
                             line={"color": INK, "dash": "dash"}, yaxis="y2"))
    stage = [r.epoch for r in history if r.phase == "last-stage"]
    if stage:
        fig.add_vrect(x0=stage[0] - 0.5, x1=stage[-1] + 0.5, fillcolor=PLAIN, opacity=0.08, line_width=0,
                      annotation_text="last stage unfrozen", annotation_position="top left")
    layout(fig, None, "epoch", "loss", height=320, live=True)
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(yaxis2={"title": "held-out accuracy", "overlaying": "y", "side": "right", "range": [0, 1.05],
                              "tickformat": ".0%", "tickvals": [0, 0.25, 0.5, 0.75, 1.0], "showgrid": False})
    return fig


def confusion_figure(result: FinetuneResult) -> go.Figure:
    """Held-out pictures by true (rows) and predicted (columns) class, counts in the cells."""
    names = list(result.classes)
    fig = go.Figure(go.Heatmap(
        z=[list(row) for row in result.confusion], x=names, y=names, colorscale="Blues", showscale=False,
        texttemplate="%{z}", hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
    ))
    layout(fig, None, "predicted", "true", height=120 + 45 * len(names), legend="none")
    fig.update_xaxes(side="top")
    fig.update_yaxes(autorange="reversed")
    return fig
