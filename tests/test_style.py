"""The one palette: plain red, residual blue, deeper nets darker, the same shade rule everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest

import webui.style

from webui.style import PLAIN, PRESENTER_FONTS, RESIDUAL, SHADES, colour, layout, net_colours

ROOT = Path(__file__).resolve().parents[1]


def test_one_net_gets_its_kind_colour_and_deeper_nets_are_darker() -> None:
    assert colour(False) == PLAIN and colour(True) == RESIDUAL
    assert [colour(False, i, 2) for i in range(2)] == [SHADES[False][1], SHADES[False][3]]
    assert [colour(True, i, 3) for i in range(3)] == [SHADES[True][0], SHADES[True][2], SHADES[True][4]]


def test_net_colours_rank_by_depth_within_each_kind() -> None:
    # The degradation race: plain-20, plain-56, ResNet-56.
    assert net_colours([(False, 20), (False, 56), (True, 56)]) == [SHADES[False][1], SHADES[False][3], RESIDUAL]


def test_layout_fixes_height_and_keeps_zoom_only_for_live_figures() -> None:
    live = layout(go.Figure(), "Loss", "epoch", "cross-entropy", height=300, live=True)
    assert live.layout.height == 300 and live.layout.uirevision == "keep" and live.layout.title.text == "Loss"
    still = layout(go.Figure(), legend="none")
    assert still.layout.uirevision is None and still.layout.showlegend is False and still.layout.title.text is None


@pytest.mark.parametrize("legend", ["top", "below"])
def test_presenter_mode_makes_every_text_of_a_figure_large(monkeypatch: pytest.MonkeyPatch, legend: str) -> None:
    def figure() -> go.Figure:
        fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="ResNet-56"))
        fig.add_annotation(text="chance", x=1, y=3)
        return layout(fig, "Loss", "epoch", "cross-entropy", legend=legend)

    normal = figure()
    assert normal.layout.xaxis.tickfont.size is None and normal.layout.title.font.size == 15
    monkeypatch.setattr(webui.style, "presenting", lambda: True)
    big = figure()
    for axis in (big.layout.xaxis, big.layout.yaxis):
        assert axis.tickfont.size >= 16 and axis.title.font.size >= 16
    assert big.layout.legend.font.size >= 16 and big.layout.font.size >= 16
    assert big.layout.title.font.size >= 20 and big.layout.annotations[0].font.size >= 16
    assert PRESENTER_FONTS["title"] >= 20


def test_style_and_the_figures_build_without_streamlit() -> None:
    # A fresh interpreter in which importing Streamlit fails: the palette, the layout and a page's
    # figures must not need it (tests and benchmarks build figures outside a Streamlit run).
    code = (
        "import sys; sys.modules['streamlit'] = None\n"
        "import plotly.graph_objects as go\n"
        "from webui.style import layout, presenting\n"
        "import webui.figures.insight, webui.figures.architecture\n"
        "fig = layout(go.Figure(go.Scatter(x=[1], y=[2])), 'Loss')\n"
        "assert presenting() is False and fig.layout.title.font.size == 15\n"
        "assert 'streamlit' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
