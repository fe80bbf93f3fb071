"""Classify page: a photo in, the model's top five classes out, with what it took to get them."""

import plotly.graph_objects as go
import streamlit as st

from resnet_core.classify import Prediction
from ui import choose_model, choose_picture, setup_page

setup_page("Classify", "🔎")
st.title("Classify")
st.caption(
    "Pick a model and a picture. The CIFAR-10 models know 10 classes from 32x32 images; the "
    "ImageNet ResNets know 1,000 from 224x224 crops."
)


def top5_chart(top: list[Prediction], true_label: str | None) -> go.Figure:
    """Horizontal bars, most probable on top; the true class, when known, in the accent colour."""
    rows = list(reversed(top))
    colours = ["#d6452f" if p.label == true_label else "#7b8494" for p in rows]
    fig = go.Figure(
        go.Bar(
            x=[p.probability for p in rows],
            y=[p.label for p in rows],
            orientation="h",
            marker_color=colours,
            text=[f"{p.probability:.1%}" for p in rows],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(range=[0, 1], tickformat=".0%", title="probability"),
        margin=dict(l=10, r=10, t=10, b=10),
        height=300,
    )
    return fig


left, right = st.columns([1, 2], gap="large")
with left:
    classifier = choose_model("classify")
    picture = choose_picture("classify")

if classifier is not None and picture is not None:
    result = classifier.classify(picture.image, k=5)
    top = result.top[0]
    with left:
        truth = f" · true class: **{picture.true_label}**" if picture.true_label else ""
        st.image(picture.image, caption=f"{picture.name} ({picture.image.width}x{picture.image.height})")
        st.markdown(f"Top guess: **{top[0].label}** ({top[0].probability:.1%}){truth}")
    with right:
        st.subheader("Top 5")
        st.plotly_chart(top5_chart(top, picture.true_label), key="top5")
        if picture.true_label and picture.true_label not in classifier.classes:
            st.caption(f"“{picture.true_label}” is not one of this model's classes.")
        st.markdown(f"**Model:** {classifier.name}")
        st.markdown(f"**Preprocessing:** {classifier.preprocessing.describe()}")
        st.markdown(
            f"**Latency:** {result.model_ms:.0f} ms for the forward pass, "
            f"{result.preprocess_ms:.0f} ms to preprocess (this machine, one image)"
        )
