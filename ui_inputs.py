"""The model and picture pickers shared by the Classify and Grad-CAM pages (Streamlit glue).

Each picker draws its widgets, makes one call into ``resnet_core`` and returns what the page
needs, or ``None`` after telling the user, with ``st.error``/``st.warning``, why there is nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from PIL import Image

from resnet_core.checkpoint import CheckpointError
from resnet_core.classify import Classifier, ModelSource, classifier_from_checkpoint, model_sources
from resnet_core.images import ImageError, load_image
from resnet_core.pretrained import WeightsUnavailableError, download_weights, imagenet_weights
from ui import cached_classifier, cached_samples, trained_models

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff", "heic", "heif"]


@dataclass(frozen=True)
class Picture:
    image: Image.Image
    name: str
    true_label: str | None  # known for CIFAR-10 test images and labelled sample photos


def choose_model(page: str) -> Classifier | None:
    """Model picker: shipped CIFAR-10 model, models trained this session, ImageNet ResNets."""
    trained = trained_models()
    sources = model_sources(list(trained))
    if not any(s.kind == "shipped" for s in sources):
        st.info(
            "The CIFAR-10 model that ships with the app is not in this install yet. Train one on the "
            "Train page, or use an ImageNet model below."
        )
    default = next((i for i, s in enumerate(sources) if s.available), 0)
    # Options are the stable keys: a label changes when weights arrive, the selection must not.
    by_key = {s.key: s for s in sources}
    key = st.selectbox(
        "Model", list(by_key), index=default, format_func=lambda k: by_key[k].label, key=f"{page}_model"
    )
    source: ModelSource = by_key[key]
    if source.kind == "trained":
        label = source.key.split(":", 1)[1]
        ckpt = trained[label]
        return classifier_from_checkpoint(ckpt, name=f"{label} ({ckpt.model_name}, trained this session)")
    if not source.available:
        _offer_download(source.key.split(":", 1)[1], page)
        return None
    try:
        return cached_classifier(source.key)
    except WeightsUnavailableError as exc:
        st.warning(str(exc))
    except CheckpointError as exc:  # a shipped file that is damaged or from another version
        st.error(f"The shipped CIFAR-10 model cannot be loaded: {exc}")
    return None


def _offer_download(name: str, page: str) -> None:
    """Explain how to get missing ImageNet weights, and fetch them here if the user asks."""
    size_mb = imagenet_weights(name).meta.get("_file_size", 0)
    st.warning(
        f"The ImageNet weights for {name} are not on this machine yet ({size_mb:.0f} MB). "
        f"Download them here if this machine is online; offline, run "
        f"`python -m resnet_core prefetch --weights {name}` on a machine with internet and copy "
        f"the file into torch's cache here."
    )
    if st.button(f"Download {name} weights ({size_mb:.0f} MB)", key=f"{page}_download"):
        bar = st.progress(0.0, text="Connecting…")

        def report(done: int, total: int | None) -> None:
            fraction = min(done / total, 1.0) if total else 0.0
            bar.progress(fraction, text=f"{done / 1e6:.0f} of {(total or 0) / 1e6:.0f} MB")

        try:
            download_weights(name, progress=False, on_progress=report)
        except WeightsUnavailableError as exc:
            st.error(str(exc))
            return
        st.rerun()


def choose_picture(page: str) -> Picture | None:
    """Picture picker: a sample (photos and CIFAR-10 test images) or an upload."""
    samples = cached_samples()
    modes = ["Sample", "Upload"] if samples else ["Upload"]
    mode = st.radio("Picture", modes, horizontal=True, key=f"{page}_picture_mode")
    if mode == "Sample":
        by_label = {s.label: s for s in samples}
        sample = by_label[st.selectbox("Sample", list(by_label), key=f"{page}_sample")]
        try:
            return Picture(sample.load(), sample.label, sample.true_label)
        except ImageError as exc:
            st.error(f"{sample.label}: {exc}")
            return None
    uploaded = st.file_uploader(
        "Upload a photo (JPEG, PNG, WebP, BMP, GIF or TIFF)", type=UPLOAD_TYPES, key=f"{page}_upload"
    )
    if uploaded is None:
        if not samples:
            st.caption("No samples on this machine: set RESNET_SAMPLES_DIR or RESNET_DATA_DIR to offer some.")
        return None
    try:
        return Picture(load_image(uploaded.getvalue()), uploaded.name, None)
    except ImageError as exc:
        st.error(f"{uploaded.name}: {exc}")
        return None
