"""Plotly figures for the Train page, drawn from a :class:`resnet_core.jobs.JobSnapshot`.

Kept out of ``resnet_core`` because Plotly is an app dependency, not a core one, and out of the
page so the page reads top to bottom. Every figure has a fixed height and a constant
``uirevision``: redrawn once a second, the chart keeps its size and the user's zoom, so live
updates do not flicker or jump.
"""

from __future__ import annotations

import plotly.graph_objects as go

from resnet_core.jobs import JobSnapshot, RunSnapshot

HEIGHT = 300  # px; fixed so a redraw never reflows the page
# One colour per run, in run order; plain first in a comparison, so plain is grey-red and the
# residual twin is the app's accent blue.
COLOURS = ("#d6452f", "#1f6feb", "#2da44e", "#8250df")


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
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear")
    return fig


def _train_trace(run: RunSnapshot, colour: str, attr: str, scale: float = 1.0) -> go.Scatter:
    return go.Scatter(
        x=[s.epoch for s in run.steps],
        y=[getattr(s, attr) * scale for s in run.steps],
        mode="lines",
        name=f"{run.label} train",
        line={"color": colour, "width": 1.5},
    )


def _test_x(run: RunSnapshot) -> list[float]:
    """Where each test point sits on the epoch axis.

    ``EpochMetrics.epoch`` counts *full* epochs, so the final evaluation of a run that ends
    mid-epoch (a time budget, a stop) would plot on top of the previous one; place it at the
    fractional epoch of the last logged step before it instead.
    """
    xs = []
    for e in run.epochs:
        before = [s.epoch for s in run.steps if s.elapsed_s <= e.elapsed_s + 1e-6]
        xs.append(max([float(e.epoch), *before[-1:]]))
    return xs


def _test_trace(run: RunSnapshot, colour: str, attr: str, scale: float = 1.0) -> go.Scatter:
    return go.Scatter(
        x=_test_x(run),
        y=[getattr(e, attr) * scale for e in run.epochs],
        mode="lines+markers",
        name=f"{run.label} test",
        line={"color": colour, "width": 2.5, "dash": "dash"},
        marker={"size": 7},
    )


def loss_figure(snap: JobSnapshot) -> go.Figure:
    """Training loss per logged step (solid) and test loss per epoch (dashed, markers)."""
    fig = go.Figure()
    for run, colour in zip(snap.runs, COLOURS):
        fig.add_trace(_train_trace(run, colour, "loss"))
        fig.add_trace(_test_trace(run, colour, "test_loss"))
    return _layout(fig, "Loss", "epoch", "cross-entropy")


def accuracy_figure(snap: JobSnapshot) -> go.Figure:
    """Training accuracy per logged step and test accuracy per epoch, in percent."""
    fig = go.Figure()
    for run, colour in zip(snap.runs, COLOURS):
        fig.add_trace(_train_trace(run, colour, "acc", 100.0))
        fig.add_trace(_test_trace(run, colour, "test_acc", 100.0))
    fig = _layout(fig, "Accuracy", "epoch", "accuracy (%)")
    fig.update_yaxes(range=[0, 100])
    return fig


def lr_figure(snap: JobSnapshot) -> go.Figure:
    """The learning-rate schedule as the trainer applied it."""
    fig = go.Figure()
    for run, colour in zip(snap.runs, COLOURS):
        fig.add_trace(go.Scatter(x=[s.epoch for s in run.steps], y=[s.lr for s in run.steps],
                                 mode="lines", name=run.label, line={"color": colour}))
    return _layout(fig, "Learning rate", "epoch", "learning rate")


def grad_flow_figure(snap: JobSnapshot) -> go.Figure:
    """Gradient norm per weighted layer, input (left) to output (right), on a log scale.

    A deep plain network's norms spread over orders of magnitude from layer to layer; the
    identity shortcuts carry the gradient back unchanged and keep them close (paper, 3.1 and 4.1).
    """
    fig = go.Figure()
    for run, colour in zip(snap.runs, COLOURS):
        names, norms = run.grad_flow()
        if not names:
            continue
        fig.add_trace(go.Scatter(
            x=list(range(1, len(names) + 1)), y=list(norms), mode="lines+markers", name=run.label,
            line={"color": colour}, marker={"size": 5}, customdata=list(names),
            hovertemplate="layer %{x}: %{customdata}<br>|grad| %{y:.3g}<extra>" + run.label + "</extra>",
        ))
    fig = _layout(fig, "Gradient flow (mean of the latest records)", "weighted layer (input → output)",
                  "gradient norm", log_y=True)
    fig.update_layout(hovermode="closest")
    return fig
