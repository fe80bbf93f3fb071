"""The one palette: plain red, residual blue, deeper nets darker, the same shade rule everywhere."""

from __future__ import annotations

import plotly.graph_objects as go

from webui.style import PLAIN, RESIDUAL, SHADES, colour, layout, net_colours


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
