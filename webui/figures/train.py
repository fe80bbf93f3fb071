"""Plotly figures for the Train page, drawn from the snapshots of ``resnet_core.jobs``.

Kept out of ``resnet_core`` because Plotly is an app dependency, not a core one, and out of the
page so the page reads top to bottom. Every figure has a fixed height and a constant
``uirevision``: redrawn once a second, the chart keeps its size and the user's zoom, so live
updates do not flicker or jump.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import plotly.graph_objects as go

from resnet_core.jobs import RaceSnapshot, TrainingSnapshot

HEIGHT = 320  # px; fixed so a redraw never reflows the page
ACCENT = "#1f6feb"
#: Plain nets in reds, residual nets in blues, the deeper of each darker: a legend is hardly needed.
_PALETTE = {("plain", 0): "#f28e6b", ("plain", 1): "#b3261e", ("res", 0): "#74a9e8", ("res", 1): "#0b4fa8"}
SMOOTH = 10  # steps in the moving average of the mini-batch training error


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, *, log_y: bool = False) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 15}},
        height=HEIGHT,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        uirevision="keep",  # keep zoom/pan across live redraws
        hovermode="x unified",
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    if log_y:
        # Whole decades only: Plotly's default labels the 2s and 5s in between as well.
        fig.update_yaxes(type="log", dtick=1, exponentformat="power")
    return fig


def contender_colours(labels: Sequence[str]) -> list[str]:
    """A colour per race label: reds for plain, blues for residual, the deepest of each kind darker."""

    def kind(label: str) -> str:
        return "plain" if label.lower().startswith("plain") else "res"

    def depth(label: str) -> int:
        return int("".join(ch for ch in label if ch.isdigit()) or 0)

    colours = []
    for label in labels:
        deepest = max(depth(o) for o in labels if kind(o) == kind(label))
        colours.append(_PALETTE[(kind(label), 1 if depth(label) == deepest else 0)])
    return colours


def _moving_average(values: Sequence[float], window: int) -> list[float | None]:
    out: list[float | None] = []
    for i in range(len(values)):
        block = [v for v in values[max(0, i - window + 1) : i + 1] if math.isfinite(v)]
        out.append(sum(block) / len(block) if block else None)
    return out


# --------------------------------------------------------------------------------------------
# The race
# --------------------------------------------------------------------------------------------


def race_error_figure(snap: RaceSnapshot, reference: dict[str, Any] | None = None) -> go.Figure:
    """Training error (solid, moving average) and test error (dashed) against iterations.

    ``reference`` (the shipped curves of a full quick-scale race) is drawn faintly underneath so
    a visitor sees where the curves are heading even when the live race is short.
    """
    fig = go.Figure()
    labels = snap.labels
    colours = contender_colours(labels)
    if reference is not None:
        ref_runs = reference["curves"]["runs"]
        for label, colour in zip(labels, colours):
            if label not in ref_runs:
                continue
            fig.add_trace(go.Scatter(
                x=reference["curves"]["train_step"], y=[None if v is None else 100 * v for v in ref_runs[label]["train_error"]],
                mode="lines", name=f"{label} (reference run)", line={"color": colour, "width": 1, "dash": "dot"},
                opacity=0.45, legendgroup="reference", hoverinfo="skip",
            ))
    steps = [s.step for s in snap.steps]
    for i, (label, colour) in enumerate(zip(labels, colours)):
        train = _moving_average([s.error[i] for s in snap.steps], SMOOTH)
        fig.add_trace(go.Scatter(
            x=steps, y=[None if v is None else 100 * v for v in train], mode="lines", name=f"{label} train",
            line={"color": colour, "width": 2.2}, legendgroup=label,
        ))
        evals = [e for e in snap.evals if e.step > 0 and math.isfinite(e.error[i])]
        fig.add_trace(go.Scatter(
            x=[e.step for e in evals], y=[100 * e.error[i] for e in evals], mode="lines+markers",
            name=f"{label} test", line={"color": colour, "width": 1.5, "dash": "dash"}, marker={"size": 5},
            legendgroup=label,
        ))
    fig = _layout(fig, "Error (%) — training solid, test dashed", "iterations (SGD steps)", "error (%)")
    x_max = max(snap.config.steps if reference is None else max(reference["curves"]["train_step"] or [0]), 1)
    fig.update_xaxes(range=[0, max(x_max, steps[-1] if steps else 1)])
    fig.update_yaxes(range=[0, 100])
    # Eight curves (twelve with the reference): the legend goes under the plot, not over the title.
    fig.update_layout(height=HEIGHT + 120, legend={"font": {"size": 11}, "orientation": "h", "yanchor": "top",
                                                   "y": -0.22, "xanchor": "left", "x": 0.0})
    return fig


def race_grad_flow_figure(snap: RaceSnapshot) -> go.Figure:
    """Gradient norm per weighted layer of each network, input (left) to output (right), log scale."""
    fig = go.Figure()
    for i, (label, colour) in enumerate(zip(snap.labels, contender_colours(snap.labels))):
        names, norms = snap.grad_flow(i)
        if names:
            fig.add_trace(_grad_trace(names, norms, label, colour))
    fig = _layout(fig, "Gradient flow (mean of the latest records)", "weighted layer (input → output)",
                  "gradient norm", log_y=True)
    fig.update_layout(hovermode="closest", height=HEIGHT + 80,
                      legend={"orientation": "h", "yanchor": "top", "y": -0.25, "xanchor": "left", "x": 0.0})
    return fig


def _grad_trace(names: Sequence[str], norms: Sequence[float], label: str, colour: str) -> go.Scatter:
    return go.Scatter(
        x=list(range(1, len(names) + 1)), y=list(norms), mode="lines+markers", name=label,
        line={"color": colour}, marker={"size": 4}, customdata=list(names),
        hovertemplate="layer %{x}: %{customdata}<br>|grad| %{y:.3g}<extra>" + label + "</extra>",
    )


# --------------------------------------------------------------------------------------------
# One network
# --------------------------------------------------------------------------------------------


def _test_x(snap: TrainingSnapshot) -> list[float]:
    """Where each test point sits on the epoch axis.

    ``EpochMetrics.epoch`` counts *full* epochs, so the final evaluation of a run that ends
    mid-epoch (a time budget, a stop) would plot on top of the previous one; place it at the
    fractional epoch of the last logged step before it instead.
    """
    xs = []
    for e in snap.epochs:
        before = [s.epoch for s in snap.steps if s.elapsed_s <= e.elapsed_s + 1e-6]
        xs.append(max([float(e.epoch), *before[-1:]]))
    return xs


def loss_figure(snap: TrainingSnapshot) -> go.Figure:
    """Training loss per logged step (solid) and test loss per epoch (dashed), log scale.

    Log, because a run that blows up reaches losses in the millions, which would flatten every
    other point of a linear axis to zero.
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[s.epoch for s in snap.steps], y=[s.loss for s in snap.steps], mode="lines",
                             name="train", line={"color": ACCENT, "width": 1.5}))
    fig.add_trace(go.Scatter(x=_test_x(snap), y=[e.test_loss for e in snap.epochs], mode="lines+markers",
                             name="test", line={"color": ACCENT, "width": 2.5, "dash": "dash"}, marker={"size": 7}))
    return _layout(fig, "Loss", "epoch", "cross-entropy", log_y=True)


def accuracy_figure(snap: TrainingSnapshot) -> go.Figure:
    """Training accuracy per logged step and test accuracy per epoch, in percent."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[s.epoch for s in snap.steps], y=[100 * s.acc for s in snap.steps], mode="lines",
                             name="train (augmented batches)", line={"color": ACCENT, "width": 1.5}))
    fig.add_trace(go.Scatter(x=_test_x(snap), y=[100 * e.test_acc for e in snap.epochs], mode="lines+markers",
                             name="test", line={"color": ACCENT, "width": 2.5, "dash": "dash"}, marker={"size": 7}))
    fig = _layout(fig, "Accuracy", "epoch", "accuracy (%)")
    fig.update_yaxes(range=[0, 100])
    return fig


def lr_figure(snap: TrainingSnapshot) -> go.Figure:
    """The learning-rate schedule as the trainer applied it."""
    fig = go.Figure(go.Scatter(x=[s.epoch for s in snap.steps], y=[s.lr for s in snap.steps], mode="lines",
                               name="learning rate", line={"color": ACCENT}))
    return _layout(fig, "Learning rate", "epoch", "learning rate")


def grad_flow_figure(snap: TrainingSnapshot) -> go.Figure:
    """Gradient norm per weighted layer, input (left) to output (right), on a log scale."""
    fig = go.Figure()
    names, norms = snap.grad_flow()
    if names:
        fig.add_trace(_grad_trace(names, norms, snap.label, ACCENT))
    fig = _layout(fig, "Gradient flow (mean of the latest records)", "weighted layer (input → output)",
                  "gradient norm", log_y=True)
    fig.update_layout(hovermode="closest")
    return fig
