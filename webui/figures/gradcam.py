"""Plotly figure for the Grad-CAM page: the picture with its class activation map on top."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from resnet_core.colormaps import plotly_colorscale
from webui.style import layout


def overlay_figure(view: Image.Image, values: np.ndarray, alpha: float, colormap: str, scale_title: str) -> go.Figure:
    """The picture with the map on top, one cell per input pixel; hovering shows the map's value."""
    fig = go.Figure(go.Image(z=np.asarray(view), hoverinfo="skip"))
    fig.add_trace(go.Heatmap(
        z=np.round(values, 3), colorscale=plotly_colorscale(colormap), zmin=0, zmax=1,
        zsmooth=False,  # cells, as the PNG download draws them
        opacity=alpha,
        colorbar={"title": {"text": scale_title, "side": "right"}, "thickness": 14, "tickvals": [0, 0.5, 1]},
        hovertemplate="x %{x}, y %{y}<br>map %{z:.2f}<extra></extra>",
    ))
    layout(fig, height=460, legend="none")
    fig.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0})  # the picture fills its column
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return fig
