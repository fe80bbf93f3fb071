"""How every figure looks: the one palette, the one layout, log axes. Plotly only: importable, and
every figure buildable, without Streamlit (tests, benchmarks); inside a Streamlit run
:func:`presenting` asks ``webui.presenter``.

Plain nets are red and residual nets blue on every page, deeper nets in darker shades, so a
legend is hardly needed; a live curve is solid, a recorded one faint and dotted. Every figure
goes through :func:`layout`: the same title font, margins and legend, and a fixed height, so a
redraw never reflows the page. Log axes are labelled once per decade (``webui.log_axes``). In
presenter mode :func:`layout` sets every figure's text large enough for a projector.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, Sequence

import plotly.graph_objects as go

from webui.log_axes import log_axis

__all__ = [
    "ACCENT", "FAMILY", "GREY", "HEIGHT", "INK", "PALE", "PLAIN", "PRESENTER_FONTS", "RECORDED", "RESIDUAL", "SHADES",
    "colour", "layout", "log_axis", "net_colours", "presenting",
]

# --- The palette -------------------------------------------------------------------------------
PLAIN, RESIDUAL = "#d6452f", "#1f6feb"  # the theme's primary colour (.streamlit/config.toml), and blue
ACCENT = RESIDUAL  # one network's curves, the true class: the colour a single series gets
INK = "#1d2330"  # the theme's text colour: reference lines a reader compares against
GREY = "#7b8494"  # guides (chance, zero) and the bars that are not the point
PALE = "#e3e6ea"  # what did not happen: a block that could not be deleted
#: Shades per kind, lightest (shallowest) first; five covers every 6n+2 depth of the paper.
SHADES: dict[bool, tuple[str, ...]] = {
    False: ("#f0a08f", "#e7765e", "#d6452f", "#a8311f", "#6e1e12"),
    True: ("#9cc2f7", "#5e9cf2", "#1f6feb", "#1650b0", "#0d3170"),
}
#: Model families on the Architecture page (not plain/residual: both families have both).
FAMILY = {"imagenet": "#4c78a8", "cifar": "#f58518"}
#: A recorded run drawn under a live one: thin, dotted and faint (the live curves are solid).
RECORDED: dict[str, Any] = {"line": {"width": 1, "dash": "dot"}, "opacity": 0.45}


def colour(residual: bool, index: int = 0, count: int = 1) -> str:
    """The colour of the ``index``-th shallowest of ``count`` nets of one kind: darker for deeper.

    One net gets the kind's own colour; two get the shades either side of it; three or more
    spread over all five.
    """
    shades = SHADES[bool(residual)]
    if count <= 1:
        return shades[len(shades) // 2]
    span = min(len(shades) - 1, 2 * (count - 1))
    start = (len(shades) - 1 - span) / 2
    return shades[round(start + index * span / (count - 1))]


def net_colours(nets: Sequence[tuple[bool, int]]) -> list[str]:
    """A colour per (residual, depth) net of a comparison: its kind's shade, by depth among its kind."""
    colours = []
    for residual, depth in nets:
        depths = sorted({d for r, d in nets if r == residual})
        colours.append(colour(residual, depths.index(depth), len(depths)))
    return colours


def presenting() -> bool:
    """Whether this Streamlit session presents; ``False`` where Streamlit is not even imported.

    Without Streamlit loaded there is no session to present in, so the figures need not import it:
    ``webui.presenter`` (which imports Streamlit) is asked only when Streamlit is already there.
    """
    if sys.modules.get("streamlit") is None:
        return False
    from webui.presenter import presenting as session_presents  # Streamlit is loaded: this costs nothing

    return session_presents()


# --- The layout --------------------------------------------------------------------------------
HEIGHT = 340  # px, the default; fixed so a redraw never reflows the page
TITLE_FONT = {"size": 15}
#: Presenter mode, px: read from the back of a room (Plotly's own default is 12 for ticks and legends).
PRESENTER_FONTS = {"text": 18, "title": 24, "axis_title": 19}
_LEGENDS: dict[str, dict[str, Any]] = {
    # Over the plot, right-aligned: one row for a few series.
    "top": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    # Under the plot: many series (the race's eight or twelve curves) would cover the title.
    "below": {"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0.0, "font": {"size": 11}},
}


def layout(fig: go.Figure, title: str | None = None, x_title: str | None = None, y_title: str | None = None, *,
           height: int = HEIGHT, legend: Literal["top", "below", "none"] = "top", hovermode: str = "closest",
           live: bool = False) -> go.Figure:
    """Give ``fig`` the app's look: title, axis titles, fixed height, margins, legend; returns ``fig``.

    ``live``: the figure is redrawn while a job runs; a constant ``uirevision`` keeps the user's
    zoom and pan across redraws.
    """
    fig.update_layout(
        title={"text": title, "font": TITLE_FONT} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 60 if title else 40, "b": 10},
        hovermode=hovermode,
        showlegend=legend != "none",
    )
    if legend != "none":
        fig.update_layout(legend=_LEGENDS[legend])
    if live:
        fig.update_layout(uirevision="keep")
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    if presenting():
        _present(fig, title is not None)
    return fig


def _present(fig: go.Figure, titled: bool) -> None:
    """Projector-sized text: ticks, legend, hover, annotations, axis titles and the title."""
    size = PRESENTER_FONTS["text"]
    fig.update_layout(font={"size": size}, legend={"font": {"size": size}}, hoverlabel={"font": {"size": size}},
                      margin={"t": 80 if titled else 50})
    if titled:
        fig.update_layout(title={"font": {"size": PRESENTER_FONTS["title"]}})
    # Set per axis too: a figure module may set an axis's tick font, which beats the figure's font.
    fig.update_xaxes(tickfont={"size": size}, title_font={"size": PRESENTER_FONTS["axis_title"]})
    fig.update_yaxes(tickfont={"size": size}, title_font={"size": PRESENTER_FONTS["axis_title"]})
    fig.update_annotations(font={"size": size})
