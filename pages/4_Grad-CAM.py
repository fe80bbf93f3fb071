"""Grad-CAM page: where the network looks, for the class you choose, per layer and per method."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from resnet_core.cam import METHOD_LABELS, METHODS, CamMap, stage_layers
from resnet_core.overlay import overlay, png_bytes
from ui import choose_model, choose_picture, setup_page

setup_page("Grad-CAM", "🔥")
st.title("Grad-CAM")
st.caption(
    "Grad-CAM (Selvaraju et al., 2017) weights a layer's feature maps by how much each one raises "
    "the chosen class's score, and shows where the weighted maps are strong: red is evidence for "
    "the class, blue is none."
)

TILE = 224  # pixels, side of each small overlay in the rows below


def overlay_figure(view: Image.Image, cam: CamMap, alpha: float) -> go.Figure:
    """The picture with the map as a heatmap on top; hovering shows the map's value per pixel."""
    values = np.round(cam.map[0].numpy(), 3)
    fig = go.Figure(go.Image(z=np.asarray(view), hoverinfo="skip"))
    fig.add_trace(
        go.Heatmap(
            z=values,
            colorscale="Jet",
            zmin=0,
            zmax=1,
            opacity=alpha,
            colorbar=dict(title="map", thickness=12),
            hovertemplate="x %{x}, y %{y}<br>map %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=460)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return fig


def caption_for(cam: CamMap) -> str:
    h, w = cam.feature_size
    return f"{cam.layer} · {cam.label} · {h}x{w} positions"


left, right = st.columns([1, 2], gap="large")
with left:
    classifier = choose_model("gradcam")
    picture = choose_picture("gradcam")

if classifier is not None and picture is not None:
    top = classifier.classify(picture.image, k=5).top[0]
    layers = stage_layers(classifier.model)
    with left:
        mode = st.radio("Explain", ["A top prediction", "Any class"], horizontal=True, key="gradcam_target_mode")
        if mode == "A top prediction":
            chosen = st.selectbox(
                "Class", top, format_func=lambda p: f"{p.label} ({p.probability:.1%})", key="gradcam_top_class"
            )
            target = chosen.index
        else:
            names = list(classifier.classes)
            default = names.index(picture.true_label) if picture.true_label in names else top[0].index
            target = names.index(st.selectbox("Class", names, index=default, key="gradcam_any_class"))
        method = st.radio("Method", METHODS, format_func=METHOD_LABELS.get, horizontal=True, key="gradcam_method")
        layer = st.selectbox("Layer", layers, index=len(layers) - 1, key="gradcam_layer")
        alpha = st.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key="gradcam_alpha")

    # One forward pass and one autograd call give every stage and every method.
    explanation = classifier.explain(picture.image, target=target)
    cam = explanation.cams[(layer, method)]
    name = explanation.target.label
    with right:
        st.subheader(f"{cam.label} for “{name}” at {layer}")
        if cam.warning:
            st.warning(cam.warning)
        if cam.blank[0]:
            st.info(
                f"Nothing at {layer} raises the score of “{name}” for this picture, so the map is empty. "
                "Try the top class or another layer."
            )
        st.plotly_chart(overlay_figure(explanation.view, cam, alpha), key="gradcam_overlay")
        st.caption(
            f"{classifier.name}. The model saw the {explanation.view.width}x{explanation.view.height} crop "
            f"shown; “{name}” has probability {explanation.target.probability:.1%}. "
            f"Forward and gradients for all maps on this page: {explanation.model_ms:.0f} ms."
        )
        big = overlay(explanation.view, cam.map[0], alpha, size=2 * TILE)
        st.download_button(
            "Download overlay (PNG)",
            png_bytes(big),
            file_name=f"{method}_{name}_{layer}.png".replace(" ", "_"),
            mime="image/png",
            key="gradcam_download",
        )

    st.subheader("Every stage, shallow to deep")
    st.caption(
        "Early stages respond to edges and textures all over the picture; the last stage, with the "
        "coarsest grid, points at the object. Each map is scaled to its own maximum."
    )
    for col, stage in zip(st.columns(len(layers)), layers):
        stage_cam = explanation.cams[(stage, method)]
        col.image(overlay(explanation.view, stage_cam.map[0], alpha, size=TILE), caption=caption_for(stage_cam))

    st.subheader(f"The four methods at {layer}")
    for col, m in zip(st.columns(len(METHODS)), METHODS):
        method_cam = explanation.cams[(layer, m)]
        col.image(overlay(explanation.view, method_cam.map[0], alpha, size=TILE), caption=caption_for(method_cam))
