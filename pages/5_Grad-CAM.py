"""Grad-CAM page: where the network looks, for the class you choose, per layer, per method and per class."""

import streamlit as st

from resnet_core.cam import METHOD_LABELS, METHODS, stage_layers
from resnet_core.cam_compare import SCALINGS, explain_classes, grid_note, last_stage_grid
from resnet_core.classify import ModelSource
from resnet_core.colormaps import COLORMAPS
from resnet_core.overlay import annotated_overlay, colorbar_legend, overlay, png_bytes
from webui import url
from webui.figures.gradcam import overlay_figure
from webui.guide import next_link
from webui.shared_picture import pick_picture
from webui.shell import setup_page
from webui.state import trained_models
from webui.widgets import choose_model

setup_page("Grad-CAM", "🔥")
st.title("Grad-CAM")
st.caption(
    "Grad-CAM (Selvaraju et al., 2017) weights a layer's feature maps by how much each one raises "
    "the chosen class's score, and shows where the weighted maps are strong: bright is evidence for "
    "the class, dark is none."
)

TILE = 320  # pixels, side of each small overlay in the rows below (shown at column width)
COLORMAP_LABELS = {"viridis": "viridis", "inferno": "inferno", "jet": "jet (as in the papers)"}


def finer_than_4x4(source: ModelSource) -> bool:
    """Prefer, for teaching CAMs, a model whose last stage is finer than a 4x4 grid."""
    if source.kind in ("imagenet", "timm"):
        return True  # 7x7 at 224 px
    if source.kind == "trained":
        ckpt = trained_models()[source.key.split(":", 1)[1]]
        if ckpt.model_name.startswith("timm:"):  # a fine-tuned timm ResNet: stride 32, as torchvision's
            return ckpt.input_size // 32 > 4
        return min(last_stage_grid(ckpt.model_name, ckpt.input_size)) > 4
    return False  # the shipped ResNet-9's last stage is 4x4


left, right = st.columns([1, 2], gap="large")
with left:
    classifier = choose_model("gradcam", prefer=finer_than_4x4)
    picture = pick_picture("gradcam")

if classifier is not None and picture is not None:
    top = classifier.classify(picture.image, k=5).top[0]
    layers = stage_layers(classifier.model)
    with left:
        names = list(classifier.classes)
        wanted = url.read_once("cls", "gradcam_target")  # a top class opens as one, any other as "Any class"
        if wanted in names and names.index(wanted) in [p.index for p in top]:
            st.session_state["gradcam_target_mode"] = "A top prediction"
            st.session_state["gradcam_top_class"] = next(p for p in top if p.label == wanted)
        elif wanted in names:
            st.session_state["gradcam_target_mode"] = "Any class"
            st.session_state["gradcam_any_class"] = wanted
        elif wanted is not None:
            url.reject("cls", wanted, "a class of this model", "the top class")
        mode = st.radio("Explain", ["A top prediction", "Any class"], horizontal=True, key="gradcam_target_mode")
        if mode == "A top prediction":
            chosen = st.selectbox(
                "Class", top, format_func=lambda p: f"{p.label} ({p.probability:.1%})", key="gradcam_top_class"
            )
            target = chosen.index
        else:
            default = names.index(picture.true_label) if picture.true_label in names else top[0].index
            target = names.index(st.selectbox("Class", names, index=default, key="gradcam_any_class"))
        url.write("cls", names[target])
        url.bind("method", "gradcam_method", METHODS[0], choices=list(METHODS), what="a method")
        method = st.radio("Method", METHODS, format_func=METHOD_LABELS.get, horizontal=True, key="gradcam_method")
        url.bind("layer", "gradcam_layer", layers[-1], choices=list(layers), what="a layer of this model")
        layer = st.selectbox("Layer", layers, key="gradcam_layer")
        alpha = st.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key="gradcam_alpha")
        url.bind("cmap", "gradcam_colormap", COLORMAPS[0], choices=list(COLORMAPS), what="a colour map")
        colormap = st.radio(
            "Colour map", COLORMAPS, format_func=COLORMAP_LABELS.get, horizontal=True, key="gradcam_colormap",
            help="Viridis and inferno get steadily lighter from 0 to 1 and read for colour-blind viewers; "
            "jet's brightness rises and falls, which invents edges.",
        )
        url.bind("shared", "gradcam_scaling", next(iter(SCALINGS)), choices=list(SCALINGS),
                 encode=lambda s: url.flag(s == "shared"), what="0 or 1")
        scaling = st.radio(
            "Scale", list(SCALINGS), format_func=SCALINGS.get, horizontal=True, key="gradcam_scaling",
            help="Each map to its own maximum shows where each class's evidence lies; one scale for all "
            "classes also shows how much there is: a 5 % class's map stays dim.",
        )

    # One forward pass and one autograd call give every stage and every method for the target;
    # one batched pass gives the chosen layer and method for each of the top classes.
    explanation = classifier.explain(picture.image, target=target)
    cam = explanation.cams[(layer, method)]
    targets = [p.index for p in top] + ([target] if target not in [p.index for p in top] else [])
    by_class = explain_classes(classifier, picture.image, targets, layer, method)
    class_maps = by_class.maps(scaling)
    main = class_maps[targets.index(target)].numpy()
    name, probability = explanation.target.label, explanation.target.probability
    scale_words = "per-map scale" if scaling == "per_map" else "shared scale"
    with right:
        st.subheader(f"{cam.label} for “{name}” ({probability:.1%}) at {layer}")
        if cam.warning:
            st.warning(cam.warning)
        note = grid_note(layer, cam.feature_size, (explanation.view.height, explanation.view.width))
        if note:
            st.info(note)
        if cam.blank[0]:
            st.info(
                f"Nothing at {layer} raises the score of “{name}” for this picture, so the map is empty. "
                "Try the top class or another layer."
            )
        st.plotly_chart(overlay_figure(explanation.view, main, alpha, colormap, scale_words), key="gradcam_overlay")
        st.caption(
            f"{classifier.name}. The model saw the {explanation.view.width}x{explanation.view.height} crop "
            f"shown; “{name}” has probability {probability:.1%}. Scale: "
            f"{SCALINGS[scaling]}. Forward and gradients for all maps on this page: "
            f"{explanation.model_ms + by_class.model_ms:.0f} ms."
        )
        figure = annotated_overlay(
            explanation.view, main, alpha, colormap=colormap,
            title=f"{cam.label} for {name} ({probability:.1%}) at {layer}",
            notes=[classifier.name[:70], f"Scale: {SCALINGS[scaling]}; opacity {alpha:.2f}; {colormap}"],
            bar_label=scale_words,
        )
        st.download_button(
            "Download overlay (PNG)",
            png_bytes(figure),
            file_name=f"{method}_{name}_{layer}.png".replace(" ", "_"),
            mime="image/png",
            key="gradcam_download",
        )

    st.subheader(f"The top classes side by side ({cam.label} at {layer})")
    st.image(colorbar_legend(colormap, low="0: no evidence", high=f"1: strongest ({scale_words})"))
    st.caption(
        "Each map is labelled with its class's probability. "
        + (
            "One scale for all: a map's brightness shows how much evidence there is, so weak classes stay dim."
            if scaling == "shared"
            else "Each map is scaled to its own maximum, so even a class at a few percent looks bright: "
            "switch Scale to “one scale for all classes” to compare amounts."
        )
    )
    for col, prediction, values in zip(st.columns(len(targets)), by_class.predictions, class_maps):
        col.image(
            overlay(by_class.view, values, alpha, size=TILE, colormap=colormap),
            caption=f"{prediction.label} · {prediction.probability:.1%}",
            width="stretch",
        )

    def cam_row(keys: list[tuple[str, str]]) -> None:
        """One row of overlays, one per (stage, method), each captioned with its grid and the class."""
        for col, (stage, m) in zip(st.columns(len(keys)), keys):
            cam = explanation.cams[(stage, m)]
            h, w = cam.feature_size
            col.image(
                overlay(explanation.view, cam.map[0], alpha, size=TILE, colormap=colormap),
                caption=f"{stage} · {cam.label} · {h}x{w} positions · {name} {probability:.1%}",
                width="stretch",
            )

    st.subheader("Every stage, shallow to deep")
    st.caption(
        f"For “{name}” ({probability:.1%}). Early stages respond to edges and textures all over the "
        "picture; the last stage, with the coarsest grid, points at the object. Each map is scaled to its "
        "own maximum."
    )
    cam_row([(stage, method) for stage in layers])

    st.subheader(f"The four methods at {layer}")
    cam_row([(layer, m) for m in METHODS])

next_link()
