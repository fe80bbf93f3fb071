"""Architecture page: every registered ResNet, the whole network drawn from its modules, compared."""

import streamlit as st

from resnet_core import get_spec, list_models
from resnet_core.anatomy import format_shape, representative_blocks
from resnet_core.diagrams import block_dot, network_dot, stage_dot
from resnet_core.summary import format_count, layout_source, records
from webui.figures import architecture as figures
from webui import url
from webui.diagram import draw_diagram
from webui.guide import next_link
from webui.presenter import diagram_font_size, presenting
from webui.resources import cached_comparison, cached_view
from webui.sections import lasting_expander, open_section
from webui.shell import setup_page

setup_page("Architecture", "🧱")

FAMILY_LABELS = {"imagenet": "ImageNet, 224 px", "cifar": "CIFAR-10, 32 px"}
FONT = diagram_font_size()

st.title("Architecture")
if not presenting():  # on a projector the blocks come first; the speaker says this
    st.markdown(
        "Every ResNet in this app, built from the same registry the trainer and classifier use, starting "
        "with its blocks. Switch the shortcuts off to get a variant's **plain twin**: the same layers "
        "without the additions."
    )

# ---- One variant ----------------------------------------------------------------------------
left, right = st.columns([3, 1], vertical_alignment="bottom")
url.bind("model", "variant", list_models()[0], choices=list_models(), what="a model")
name = left.selectbox(
    "Variant",
    list_models(),  # registered ImageNet variants first, then CIFAR ones
    format_func=lambda n: f"{n} · {FAMILY_LABELS[get_spec(n).family]}",
    key="variant",
)
url.bind("plain", "residual", True, choices=[True, False], encode=lambda on: url.flag(not on), what="0 or 1")
residual = right.toggle("Shortcut connections", key="residual", help="Off: the plain twin")
# Both read from the shipped file before anything is drawn, so no number of the previous variant
# is ever shown under this one's name while this one is computed.
summary, anatomy = cached_view(name, residual)
spec = get_spec(name)

# Keyed by the variant: everything that describes it is drawn in its own container.
with st.container(key=f"view_{name}_{'residual' if residual else 'plain'}"):
    terms = (" 6n+2: the number of weighted layers of the paper's CIFAR-10 nets, n blocks per stage; option A: "
             "where a stage changes shape, zero-padded identity shortcuts, with no parameters."
             if spec.paper_family else "")
    st.caption(f"{spec.description}. {'Residual' if residual else 'Plain'}, one {summary.input_size}x{summary.input_size} "
               f"image.{terms}")

    # ---- The blocks -----------------------------------------------------------------------------
    st.subheader("The building blocks")
    blocks = representative_blocks(anatomy)
    for col, block in zip(st.columns(len(blocks)), blocks):
        draw_diagram(block_dot(block, font_size=FONT), where=col,
                     alt=f"{name}'s {block.kind} block {block.name}, {'with' if residual else 'without'} its shortcut")
    st.markdown(
        f"The blocks of **{name}** {'with' if residual else 'without'} their shortcuts, one of each sort it "
        "has, at its own widths; the toggle above switches the shortcuts. A **basic block** "
        "(ResNet-18/34 and the CIFAR nets) stacks two 3x3 convolutions; a **bottleneck** "
        "(ResNet-50/101/152) squeezes to a quarter of the width with a 1x1, convolves 3x3 there and "
        "expands back, which makes deep networks affordable."
    )
    st.caption(
        "Shortcut kinds: **identity** adds the input back unchanged; where a block changes the shape, "
        "**projection** (1x1 convolution and BN, the paper's option B) or **zero-padding** (subsample and "
        "pad the new channels with zeros, option A, no parameters) makes it fit; **none** in a plain twin, "
        "or in a ResNet-9 convolution unit, which never had one."
    )

    # ---- The numbers ----------------------------------------------------------------------------
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

    # ---- The whole network ------------------------------------------------------------------------
    st.header("The whole network")
    st.markdown(
        "The image enters at the top; from stage to stage the resolution falls and the channels grow, "
        "and the head turns the last feature map into class scores. Shapes are channels x height "
        "x width, read off one forward pass of the model itself. Open a stage to see its blocks and their "
        "shortcuts, as the paper's Figure 3 draws them."
    )
    overview, stages_col = st.columns([1, 2], gap="large")
    draw_diagram(network_dot(anatomy, font_size=FONT), where=overview,
                 alt=f"The whole of {name}{'' if residual else ' (plain)'}, stem to class scores, "
                     "with each stage's output shape")
    with stages_col:
        stage_names = [s.name for s in anatomy.stages]
        for wanted in (url.read_once("stage", "stage_open") or "").split(","):  # ?stage=layer2,layer3
            if wanted in stage_names:
                open_section(f"stage_open_{wanted}")
            elif wanted:
                url.reject("stage", wanted, f"a stage of {name}", "it closed")
        opened = []
        for stage in anatomy.stages:
            title = stage.name if stage.paper_name == stage.name else f"{stage.paper_name} ({stage.name})"
            label = (
                f"{title} · {len(stage.blocks)} block{'s' if len(stage.blocks) > 1 else ''} · "
                f"{format_shape(stage.in_shape)} → {format_shape(stage.out_shape)} · shortcuts: {stage.shortcut_summary()}"
            )
            # Open across variants and twins: the label, and so the widget, changes with them.
            box = lasting_expander(label, key=f"stage_open_{stage.name}")
            if not box.open:
                # Drawn when opened: a closed stage's diagram and table would still be laid out by
                # the browser on every switch of variant (a fifth of its median time, issue 18).
                continue
            opened.append(stage.name)
            with box:
                draw_diagram(stage_dot(stage, font_size=FONT), alt=f"The blocks of {name}'s stage {stage.name}")
                st.dataframe(
                    [
                        {
                            "block": b.name,
                            # BN and ReLU are in the diagram above; the table keeps to what changes shapes.
                            "layers": " → ".join(s.text for s in b.steps if "BN" not in s.text),
                            "shortcut": b.shortcut.replace("_", "-"),
                            "output": format_shape(b.out_shape),
                            "parameters": b.parameters,
                        }
                        for b in stage.blocks
                    ],
                    hide_index=True,
                    key=f"stage_blocks_{stage.name}",
                    column_config={"parameters": st.column_config.NumberColumn(format="localized")},
                )
        if opened:
            url.write("stage", ",".join(opened))
        else:
            url.forget("stage")

    NUMBER = st.column_config.NumberColumn(format="localized")
    st.subheader(f"Stages, {layout_source(name)}")
    if spec.paper_family:
        st.caption("6n+2: three stages of n blocks, each block two 3x3 convolutions, plus the first "
                   "convolution and the fc layer; n = 3 gives ResNet-20, n = 18 ResNet-110.")
    st.dataframe(
        records(summary.stages),
        hide_index=True,
        column_order=["stage", "output_size", "layout", "shortcut", "repeats", "parameters", "mult_adds", "modules"],
        column_config={
            "output_size": "output size",
            # No column wider than its text: at 1366 px a "large" layout column pushed mult-adds off the right.
            "layout": st.column_config.TextColumn("layout"),
            "parameters": NUMBER,
            "mult_adds": st.column_config.NumberColumn("mult-adds (MACs)", format="localized"),
            "modules": "modules",
        },
    )
    layers = lasting_expander(f"Every layer, as torchinfo traces it ({len(summary.layers)} module calls)",
                              key="every_layer_open")
    if layers.open:  # drawn when opened, as the stages above
        layers.dataframe(
            records(summary.layers),
            hide_index=True,
            height=420,
            column_config={
                "output_shape": "output shape",
                "parameters": NUMBER,
                "mult_adds": st.column_config.NumberColumn("mult-adds (MACs)", format="localized"),
            },
        )

    st.subheader("Why the shortcut helps")
    st.markdown(
        "A plain stack of layers has to learn the whole mapping H(x). A residual block learns only the "
        "change F(x) = H(x) − x and adds its input back. If a layer has nothing useful to add, F can "
        "stay near zero and the block passes x through nearly untouched, so adding layers cannot easily "
        "make the network worse (He et al., *Deep Residual Learning for Image Recognition*, CVPR 2016, "
        "sections 3.1 and 3.2). The shortcut also shortens the way back for gradients. In the blocks "
        "drawn above the ReLU comes *after* the addition, so the derivative of a block's output is"
    )
    st.latex(r"\frac{\partial}{\partial x}\,\mathrm{ReLU}\bigl(x + F(x)\bigr) = \mathbb{1}[x + F(x) > 0]\,\Bigl(1 + \frac{\partial F}{\partial x}\Bigr)")
    st.markdown(
        "The **1** is the shortcut's path: wherever the sum is positive, the gradient reaches the block's "
        "input even when ∂F/∂x is small. A plain network has only the ∂F/∂x factors, multiplied layer after "
        "layer, and in the paper's experiments its training error got *worse* with depth (Figure 1 and "
        "Figure 6); the Train page repeats that experiment. The ReLU after each addition means the path "
        "through many blocks is not a pure identity. He et al.'s follow-up, *Identity Mappings in Deep "
        "Residual Networks* (ECCV 2016), moves BN and ReLU inside F (\"pre-activation\") to make it one; "
        "every network in this app uses the original, post-activation blocks."
    )

# ---- Compare variants -------------------------------------------------------------------------
st.header("Compare variants")
comparison = {row.name: row for row in cached_comparison()}
chosen = st.multiselect(
    "Variants to compare",
    list_models(),
    default=list_models(featured=True),
    key="compare",
)
if not chosen:
    st.info("Pick at least one variant to compare.")
else:
    rows = [comparison[n] for n in chosen]
    st.caption(
        "Mult-adds are for one image at each variant's native size: 224x224 for ImageNet, 32x32 for "
        "CIFAR-10. Log scales, one label per power of ten: ResNet-152 has over 200 times the parameters "
        "of ResNet-20."
    )
    chart_cols = st.columns(3)
    chart_cols[0].plotly_chart(figures.parameters_figure(rows), key="chart_params")
    chart_cols[1].plotly_chart(figures.mult_adds_figure(rows), key="chart_macs")
    chart_cols[2].plotly_chart(figures.depth_figure(rows), key="chart_depth")
    st.caption(
        "Blue: ImageNet variants; orange: CIFAR-10 variants. Hatched bars are the plain twins: identity "
        "and zero-padding shortcuts cost no parameters, only the 1x1 projections where the shape "
        "changes do."
    )

# ---- Cost against error -------------------------------------------------------------------------
st.subheader("What the extra layers bought: cost against error on CIFAR-10")
paper = [comparison[n] for n in list_models("cifar") if get_spec(n).paper_family]
errors = [get_spec(r.name).paper_error for r in paper]
st.plotly_chart(figures.cost_error_figure(paper, errors), key="chart_cost_error")
shallowest, deepest = paper[0], paper[-1]
st.caption(
    "He et al. (2015), Table 6: CIFAR-10 test error of the 6n+2 networks of section 4.2 (three stages of n "
    "blocks of two 3x3 convolutions, plus the first convolution and the fc layer), as the paper "
    "reports it (ResNet-110: best of 5 runs; their mean was 6.61 %); mult-adds measured here. Marker "
    "size grows with the parameter count. Each doubling of depth costs about twice the compute and "
    f"buys less: {errors[0]:.2f} % to {errors[-1]:.2f} % from "
    f"{deepest.mult_adds / shallowest.mult_adds:.0f} times the work. The paper's ResNet-1202 (19.4 M "
    "parameters, not registered here) did worse, 7.93 %, which the authors put down to overfitting."
)

next_link()
