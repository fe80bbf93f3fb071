"""Classify page: a photo in, the exact tensor the model sees, its top five classes, what each stage sees."""

import streamlit as st

from resnet_core.classify import Classifier, classifier_from_checkpoint
from resnet_core.confidence import must_choose_text, read_confidence
from resnet_core.features import feature_grid, stage_features
from resnet_core.models import find_twin
from resnet_core.overlay import crop_preview, enlarge
from webui.figures.classify import top5_figure
from webui.guide import next_link
from webui.shared_picture import pick_picture
from webui.shell import setup_page
from webui.state import trained_models
from webui.widgets import choose_model

setup_page("Classify", "🔎")
st.title("Classify")
st.caption(
    "Pick a model and a picture. The CIFAR-10 models know 10 classes from 32x32 images; the "
    "ImageNet ResNets know 1,000 from 224x224 crops."
)

READING_BOX = {"confident": st.success, "unsure": st.info, "guess": st.warning}


def twin_classifier(classifier: Classifier) -> Classifier | None:
    """The same variant trained this session with the shortcuts the other way, if there is one."""
    residual = bool(classifier.details.get("residual", True))
    found = find_twin(classifier.model_name, residual, trained_models(), lambda c: (c.model_name, c.residual))
    if found is None:
        return None
    label, checkpoint = found
    return classifier_from_checkpoint(checkpoint, name=f"{label} ({checkpoint.model_name}, trained this session)")


left, right = st.columns([1, 2], gap="large")
with left:
    classifier = choose_model("classify")
    picture = pick_picture("classify")

if classifier is not None and picture is not None:
    result = classifier.classify(picture.image, k=5)
    top = result.top[0]
    seen = classifier.model_input(picture.image)
    reading = read_confidence(top, len(classifier.classes), classifier.label_smoothing)
    crop = classifier.preprocessing.crop
    with left:
        st.image(
            crop_preview(picture.image, seen.crop_box),
            caption=f"{picture.name} ({picture.image.width}x{picture.image.height}). Inside the box: what "
            f"the model keeps; the faded rest is cropped away.",
        )
        st.image(
            enlarge(seen.shown, 256),
            caption=f"What the model receives: a {crop}x{crop} tensor, shape {tuple(seen.tensor.shape)}, "
            f"shown de-normalised and enlarged (each square is one input pixel).",
        )
    with right:
        truth = f" · true class: **{picture.true_label}**" if picture.true_label else ""
        st.markdown(f"Top guess: **{top[0].label}** ({top[0].probability:.1%}){truth}")
        outside = bool(picture.true_label) and picture.true_label not in classifier.classes
        wrong = picture.true_label in classifier.classes and top[0].label != picture.true_label
        # However sure the model is, an answer that cannot be right or is known wrong is no success.
        (st.warning if outside or wrong else READING_BOX[reading.level])(reading.headline)
        if outside:
            st.warning(
                f"“{picture.true_label}” is not one of this model's classes, so whatever it answers is "
                f"wrong: the picture is out of its distribution."
            )
        st.subheader("Top 5")
        st.plotly_chart(top5_figure(top, picture.true_label, reading.ceiling), key="top5")
        st.markdown(f"**It must choose.** {must_choose_text(classifier.classes)}")
        st.markdown(f"**Why this confidence.** {reading.why}")
        st.markdown(f"**Model:** {classifier.name}")
        st.markdown(
            f"**Preprocessing:** {classifier.preprocessing.describe()}. The photo became "
            f"{seen.resized[0]}x{seen.resized[1]} before the crop."
        )
        st.markdown(
            f"**Latency:** {result.model_ms:.0f} ms for the forward pass, "
            f"{result.preprocess_ms:.0f} ms to preprocess (this machine, one image)"
        )

    # ---- What each stage sees -------------------------------------------------------------------
    st.header("What each stage sees")
    st.markdown(
        "The output of the stem and of every stage for this picture: the 8 channels that respond most "
        "(largest mean activation), each position one square. From stage to stage the maps get coarser "
        "and there are more of them: the network trades *where* for *what*."
    )
    twin = twin_classifier(classifier)
    models = [classifier] if twin is None else sorted([classifier, twin], key=lambda c: not c.details.get("residual", True))
    columns = st.columns(len(models))
    for col, model in zip(columns, models):
        kind = "Residual" if model.details.get("residual", True) else "Plain twin"
        col.markdown(f"**{kind}:** {model.name}")
        for features in stage_features(model.model, model.preprocess(picture.image)):
            c, h, w = features.shape
            grid = feature_grid(features, cell=56 if twin else 72, columns=8)
            col.image(
                grid,
                # Its own width, not the caption's (squares stay squares), but never wider than a
                # phone's column: "content" shrinks it to fit, keeping the aspect ratio.
                width="content",
                caption=f"{features.name}: output {c} x {h} x {w}; the {len(features.channels)} strongest "
                f"channels; yellow = {features.peak:.1f}",
            )
    if twin is None:
        st.caption(
            "Colour: viridis, dark = 0, yellow = the stage's largest activation. To see a plain network "
            "beside its residual twin here, train both on the Train page (plain vs residual); they appear "
            "side by side for the same picture."
        )
    else:
        st.caption(
            "Colour: viridis, dark = 0, yellow = each stage's largest activation. Left the residual "
            "network, right its plain twin trained on the same data: the same layers, without the additions."
        )

next_link()
