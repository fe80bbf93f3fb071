"""Plotly figures for the Train page, drawn from the snapshots of ``resnet_core.jobs``.

Kept out of ``resnet_core`` because Plotly is an app dependency, not a core one, and out of the
page so the page reads top to bottom. Every figure is a live one (``webui.style.layout``): redrawn
once a second, it keeps its size and the user's zoom, so live updates do not flicker or jump.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import plotly.graph_objects as go

from resnet_core.jobs import RaceSnapshot, TrainingSnapshot
from resnet_core.reference_curves import RecordedRace
from resnet_core.replay import ReplayFrame
from webui.style import ACCENT, GREY, HEIGHT, RECORDED, layout, log_axis, net_colours

SMOOTH = 10  # steps in the moving average of the mini-batch training error
CHANCE_ERROR = 90.0  # % error of a ten-class guess: every error chart marks it
RACE_HEIGHT = HEIGHT + 80  # px: the race chart, with its legend below, on the first screen at 1366x768


def race_colours(snap: RaceSnapshot) -> list[str]:
    """A colour per contender: reds for plain, blues for residual, the deeper of each kind darker."""
    return net_colours([(c.residual, c.depth) for c in snap.config.contenders])


def _moving_average(values: Sequence[float], window: int) -> list[float | None]:
    out: list[float | None] = []
    for i in range(len(values)):
        block = [v for v in values[max(0, i - window + 1) : i + 1] if math.isfinite(v)]
        out.append(sum(block) / len(block) if block else None)
    return out


def chance_line(fig: go.Figure, y: float = CHANCE_ERROR, text: str = "chance: 90 % error") -> go.Figure:
    """A labelled dotted line at chance level (a ten-class guess), its label on a white ground."""
    fig.add_hline(y=y, line={"color": GREY, "width": 1, "dash": "dot"}, annotation_text=text,
                  annotation_position="top left", annotation_font={"color": GREY, "size": 11},
                  annotation_bgcolor="rgba(255,255,255,0.8)")
    return fig


def _percent(values: Sequence[float | None]) -> list[float | None]:
    return [None if v is None else 100 * v for v in values]


def _recorded_traces(fig: go.Figure, curves: RecordedRace | ReplayFrame, labels: Sequence[str],
                     colours: Sequence[str], *, upto: int | None = None, faint: bool) -> None:
    """The recorded training error of each of ``labels``: dotted, named "(recorded)", never like a live curve."""
    style = RECORDED["line"] if faint else {"width": 2.2, "dash": "dot"}
    for label, colour in zip(labels, colours):
        if label not in curves.train_error:
            continue
        pairs = [(x, y) for x, y in zip(curves.train_step, curves.train_error[label]) if upto is None or x <= upto]
        fig.add_trace(go.Scatter(
            x=[x for x, _ in pairs], y=_percent([y for _, y in pairs]), mode="lines", name=f"{label} (recorded)",
            line={"color": colour, **style}, opacity=RECORDED["opacity"] if faint else 1.0, legendgroup="recorded",
            hovertemplate="%{y:.1f}% at step %{x}<extra>" + label + " (recorded)</extra>",
        ))


def _chart_label(fig: go.Figure, text: str) -> None:
    """A label inside the plot, top right, that says what the curves are (recorded or live)."""
    fig.add_annotation(text=text, xref="paper", yref="paper", x=1.0, y=1.0, xanchor="right", yanchor="top",
                       showarrow=False, font={"size": 12, "color": GREY}, bgcolor="rgba(255,255,255,0.85)")


def recorded_race_figure(curves: RecordedRace | ReplayFrame, race: RecordedRace) -> go.Figure:
    """The recorded race's training error against iterations (whole, or a replay frame), labelled as recorded.

    The x-axis always spans the whole recorded race, so a replay fills it from the left.
    """
    fig = go.Figure()
    colours = net_colours([(c.residual, c.depth) for c in race.experiment.contenders])
    _recorded_traces(fig, curves, race.labels, colours, faint=False)
    layout(fig, "Training error (%) against iterations: the recorded race", "iterations (SGD steps)",
           "training error (%)", height=RACE_HEIGHT, legend="below", hovermode="x unified", live=True)
    _chart_label(fig, f"RECORDED on {race.date}, not live")
    chance_line(fig)
    fig.update_xaxes(range=[0, race.steps])
    fig.update_yaxes(range=[0, 100])
    return fig


# --------------------------------------------------------------------------------------------
# The race
# --------------------------------------------------------------------------------------------


def race_error_figure(snap: RaceSnapshot, recorded: RecordedRace | None = None, *,
                      whole_recorded: bool = False) -> go.Figure:
    """Live training error (solid, moving average) and test error (dashed) against iterations.

    ``recorded`` (the shipped full race) is drawn faintly and dotted underneath, up to the live race's
    last step, so a visitor sees where the curves are heading; ``whole_recorded`` draws all of it and
    widens the x-axis to its end. Live traces are named "(live)", recorded ones "(recorded)".
    """
    fig = go.Figure()
    labels = snap.labels
    colours = race_colours(snap)
    x_max = snap.config.steps
    if recorded is not None:
        _recorded_traces(fig, recorded, labels, colours, upto=None if whole_recorded else x_max, faint=True)
        if whole_recorded:
            x_max = max(x_max, recorded.steps)
    steps = [s.step for s in snap.steps]
    for i, (label, colour) in enumerate(zip(labels, colours)):
        train = _moving_average([s.error[i] for s in snap.steps], SMOOTH)
        fig.add_trace(go.Scatter(
            x=steps, y=_percent(train), mode="lines", name=f"{label} train (live)",
            line={"color": colour, "width": 2.2}, legendgroup=label,
        ))
        evals = [e for e in snap.evals if e.step > 0 and math.isfinite(e.error[i])]
        fig.add_trace(go.Scatter(
            x=[e.step for e in evals], y=[100 * e.error[i] for e in evals], mode="lines+markers",
            name=f"{label} test (live)", line={"color": colour, "width": 1.5, "dash": "dash"}, marker={"size": 5},
            legendgroup=label,
        ))
    # Six curves (nine with the recorded run): the legend goes under the plot, not over the title.
    layout(fig, "Error (%) — live: training solid, test dashed", "iterations (SGD steps)", "error (%)",
           height=RACE_HEIGHT, legend="below", hovermode="x unified", live=True)
    _chart_label(fig, "LIVE, solid" + (" · recorded, dotted" if recorded is not None else ""))
    chance_line(fig)
    fig.update_xaxes(range=[0, max(x_max, steps[-1] if steps else 1)])
    fig.update_yaxes(range=[0, 100])
    return fig


def race_grad_flow_figure(snap: RaceSnapshot) -> go.Figure:
    """Gradient norm per weighted layer of each network, input (left) to output (right), log scale."""
    fig = go.Figure()
    norms_seen: list[float] = []
    for i, (label, colour) in enumerate(zip(snap.labels, race_colours(snap))):
        names, norms = snap.grad_flow(i)
        if names:
            fig.add_trace(_grad_trace(names, norms, label, colour))
            norms_seen += norms
    layout(fig, "Gradient flow (mean of the latest records)", "weighted layer (input → output)", "gradient norm",
           height=HEIGHT + 60, legend="below", live=True)
    fig.update_yaxes(**_log_axis(norms_seen))
    return fig


def _log_axis(values: Sequence[float | None]) -> dict[str, Any]:
    """A decade-labelled log axis over ``values``; over 1 to 10 before the first positive value."""
    positive = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return log_axis(positive or [1.0], labels="power")


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
    layout(fig, "Loss", "epoch", "cross-entropy", hovermode="x unified", live=True)
    fig.update_yaxes(**_log_axis([s.loss for s in snap.steps] + [e.test_loss for e in snap.epochs]))
    return fig


def accuracy_figure(snap: TrainingSnapshot) -> go.Figure:
    """Training accuracy per logged step and test accuracy per epoch, in percent."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[s.epoch for s in snap.steps], y=[100 * s.acc for s in snap.steps], mode="lines",
                             name="train (augmented batches)", line={"color": ACCENT, "width": 1.5}))
    fig.add_trace(go.Scatter(x=_test_x(snap), y=[100 * e.test_acc for e in snap.epochs], mode="lines+markers",
                             name="test", line={"color": ACCENT, "width": 2.5, "dash": "dash"}, marker={"size": 7}))
    layout(fig, "Accuracy", "epoch", "accuracy (%)", hovermode="x unified", live=True)
    chance_line(fig, 100 - CHANCE_ERROR, "chance: 10 % accuracy (90 % error)")
    fig.update_yaxes(range=[0, 100])
    return fig


def lr_figure(snap: TrainingSnapshot) -> go.Figure:
    """The learning-rate schedule as the trainer applied it."""
    fig = go.Figure(go.Scatter(x=[s.epoch for s in snap.steps], y=[s.lr for s in snap.steps], mode="lines",
                               name="learning rate", line={"color": ACCENT}))
    return layout(fig, "Learning rate", "epoch", "learning rate", hovermode="x unified", live=True)


def grad_flow_figure(snap: TrainingSnapshot) -> go.Figure:
    """Gradient norm per weighted layer, input (left) to output (right), on a log scale."""
    fig = go.Figure()
    names, norms = snap.grad_flow()
    if names:
        fig.add_trace(_grad_trace(names, norms, snap.label, ACCENT))
    layout(fig, "Gradient flow (mean of the latest records)", "weighted layer (input → output)", "gradient norm",
           live=True)
    fig.update_yaxes(**_log_axis(norms))
    return fig
