"""Architecture page: every registered ResNet, layer by layer, compared, and its blocks drawn."""

import plotly.graph_objects as go
import streamlit as st

from resnet_core import get_spec, list_models
from resnet_core.diagrams import block_dot
from resnet_core.summary import format_count, records
from ui import cached_comparison, cached_summary, setup_page

setup_page("Architecture", "🧱")

FAMILY_LABELS = {"imagenet": "ImageNet, 224 px", "cifar": "CIFAR-10, 32 px"}
FAMILY_COLORS = {"imagenet": "#4c78a8", "cifar": "#f58518"}

st.title("Architecture")
st.markdown(
    "Every ResNet in this app, built from the same registry the trainer and classifier use. "
    "Pick a variant to see the paper's Table 1 for it and every layer torchinfo traces; switch the "
    "shortcuts off to get its **plain twin**, the same layers without the additions."
)

# ---- One variant ----------------------------------------------------------------------------
left, right = st.columns([3, 1], vertical_alignment="bottom")
name = left.selectbox(
    "Variant",
    list_models(),  # registered ImageNet variants first, then CIFAR ones
    format_func=lambda n: f"{n} · {FAMILY_LABELS[get_spec(n).family]}",
    key="variant",
)
residual = right.toggle("Shortcut connections", value=True, key="residual", help="Off: the plain twin")
summary = cached_summary(name, residual)
spec = get_spec(name)
st.caption(f"{spec.description}. {'Residual' if residual else 'Plain'}, one {summary.input_size}x{summary.input_size} image.")

totals = summary.totals
top, bottom = st.columns(3), st.columns(3)
top[0].metric("Parameters", f"{totals.parameters:,}", border=True)
top[1].metric("Trainable parameters", f"{totals.trainable_parameters:,}", border=True)
top[2].metric(
    "Mult-adds (MACs)",
    format_count(totals.mult_adds),
    help="Multiply-accumulates for one image: each is one multiplication and one addition.",
    border=True,
)
bottom[0].metric(
    "Depth", spec.depth, help="Weighted layers counted as in the paper: convolutions and the fc layer.", border=True
)
bottom[1].metric(
    "Activations",
    f"{format_count(totals.forward_backward_bytes)}B",
    help="torchinfo's forward/backward pass size: outputs kept for backpropagation, one image, float32.",
    border=True,
)
bottom[2].metric("Parameter memory", f"{format_count(totals.params_bytes)}B", help="float32", border=True)

NUMBER = st.column_config.NumberColumn(format="localized")
st.subheader("Stages, as in Table 1 of the paper")
st.dataframe(
    records(summary.stages),
    hide_index=True,
    column_order=["stage", "output_size", "layout", "shortcut", "repeats", "parameters", "mult_adds", "modules"],
    column_config={
        "output_size": "output size",
        "layout": st.column_config.TextColumn("layout", width="large"),
        "parameters": NUMBER,
        "mult_adds": st.column_config.NumberColumn("mult-adds (MACs)", format="localized"),
        "modules": "modules",
    },
)
with st.expander(f"Every layer, as torchinfo traces it ({len(summary.layers)} module calls)"):
    st.dataframe(
        records(summary.layers),
        hide_index=True,
        height=420,
        column_config={
            "output_shape": "output shape",
            "parameters": NUMBER,
            "mult_adds": st.column_config.NumberColumn("mult-adds (MACs)", format="localized"),
        },
    )

# ---- Compare variants -------------------------------------------------------------------------
st.header("Compare variants")
comparison = {row.name: row for row in cached_comparison()}
chosen = st.multiselect(
    "Variants to compare",
    list_models(),
    default=["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet20", "resnet56", "resnet110", "resnet9"],
    key="compare",
)
if not chosen:
    st.info("Pick at least one variant to compare.")
else:
    rows = [comparison[n] for n in chosen]
    names = [r.name for r in rows]
    colors = [FAMILY_COLORS[r.family] for r in rows]
    st.caption(
        "Mult-adds are for one image at each variant's native size: 224x224 for ImageNet, 32x32 for "
        "CIFAR-10. Log scales: ResNet-152 has over 200 times the parameters of ResNet-20."
    )
    params_fig = go.Figure(
        [
            go.Bar(name="residual", x=names, y=[r.parameters for r in rows], marker_color=colors),
            go.Bar(name="plain twin", x=names, y=[r.plain_parameters for r in rows], marker_color=colors, opacity=0.45),
        ]
    )
    # SI prefixes ("10G", not plotly's default "10B") match the metrics above.
    params_fig.update_layout(
        title="Parameters", yaxis_type="log", yaxis_exponentformat="SI", barmode="group", height=380,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    )
    macs_fig = go.Figure(go.Bar(x=names, y=[r.mult_adds for r in rows], marker_color=colors))
    macs_fig.update_layout(title="Mult-adds (MACs) per image", yaxis_type="log", yaxis_exponentformat="SI", height=380)
    depth_fig = go.Figure(go.Bar(x=names, y=[r.depth for r in rows], marker_color=colors))
    depth_fig.update_layout(title="Depth (weighted layers)", height=380)
    chart_cols = st.columns(3)
    chart_cols[0].plotly_chart(params_fig, key="chart_params")
    chart_cols[1].plotly_chart(macs_fig, key="chart_macs")
    chart_cols[2].plotly_chart(depth_fig, key="chart_depth")
    st.caption(
        "Blue: ImageNet variants; orange: CIFAR-10 variants. Pale bars are the plain twins: identity "
        "and zero-padding shortcuts cost no parameters, only the 1x1 projections where the shape "
        "changes do."
    )

# ---- The blocks -------------------------------------------------------------------------------
st.header("The building blocks")
st.markdown(
    f"Drawn {'with' if residual else 'without'} the shortcut; the toggle at the top switches both. "
    "A **basic block** (ResNet-18/34 and the CIFAR nets) stacks two 3x3 convolutions; a "
    "**bottleneck** (ResNet-50/101/152) squeezes to a quarter of the width with a 1x1, convolves "
    "3x3 there and expands back, which makes deep networks affordable."
)
block_cols = st.columns(2)
block_cols[0].graphviz_chart(block_dot("basic", residual=residual))
block_cols[1].graphviz_chart(block_dot("bottleneck", residual=residual))

st.subheader("Why the shortcut helps")
st.markdown(
    "A plain stack of layers has to learn the whole mapping H(x). A residual block learns only the "
    "change F(x) = H(x) − x and adds its input back. If a layer has nothing useful to add, F can "
    "stay near zero and the block passes x through untouched, so adding layers cannot easily make "
    "the network worse (He et al., *Deep Residual Learning for Image Recognition*, CVPR 2016, "
    "section 3.1). The same shortcut is a highway for gradients. Differentiating a block's output:"
)
st.latex(r"\frac{\partial}{\partial x}\bigl(x + F(x)\bigr) = 1 + \frac{\partial F}{\partial x}")
st.markdown(
    "The **1** is the identity path: however small the gradients through the convolutions get, the "
    "gradient from the loss reaches early layers undiminished through the chain of shortcuts "
    "(He et al., *Identity Mappings in Deep Residual Networks*, ECCV 2016, section 2, equation 5). A plain "
    "network multiplies only the ∂F/∂x terms, layer after layer, and in the paper's experiments its "
    "training error got *worse* with depth (Figure 1). The Train page repeats that experiment."
)
