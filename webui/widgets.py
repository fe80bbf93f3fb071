"""The model and picture pickers shared by Classify and Grad-CAM, and the upload formats.

Each picker draws its widgets, makes one call into ``resnet_core`` and returns what the page
needs, or None after telling the user (``st.error`` / ``st.warning``) why there is nothing.
Imports torch: only the pages that pick models or pictures import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import streamlit as st
from PIL import Image

from resnet_core.checkpoint import CheckpointError
from resnet_core.classify import Classifier, ModelSource, classifier_from_checkpoint, model_sources
from resnet_core.images import ImageError, load_image
from resnet_core.pretrained import WeightsUnavailableError, download_weights, imagenet_weights
from webui import url
from webui.locality import shown
from webui.presenter import presenting
from webui.resources import cached_classifier, cached_samples
from webui.state import trained_models
from webui.uploads import file_uploader, upload_messages

__all__ = ["PICTURE_MAX_SIDE", "UPLOAD_TYPES", "Picture", "camera_picture", "choose_model", "choose_picture"]

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff", "heic", "heif"]
#: Longer side an upload is shrunk to: more than any page shows (Streamlit draws at most 1460 px)
#: or any model reads (224 px crops), and a 50 MP phone photo then costs ~10 MB, not 150 MB.
PICTURE_MAX_SIDE = 2048


@dataclass(frozen=True)
class Picture:
    image: Image.Image
    name: str
    true_label: str | None  # known for CIFAR-10 test images and labelled sample photos


def choose_model(page: str, prefer: Callable[[ModelSource], bool] | None = None) -> Classifier | None:
    """Model picker: shipped CIFAR-10 model, models trained this session, ImageNet ResNets.

    The default is the first available source, or the first available one ``prefer`` accepts.
    """
    trained = trained_models()
    sources = model_sources(list(trained))
    if not any(s.kind == "shipped" for s in sources):
        st.info(
            "The CIFAR-10 model that ships with the app is not in this install yet. Train one on the "
            "Train page, or use an ImageNet model below."
        )
    default = next((i for i, s in enumerate(sources) if s.available), 0)
    if prefer is not None:
        default = next((i for i, s in enumerate(sources) if s.available and prefer(s)), default)
    # Options are the stable keys: a label changes when weights arrive, the selection must not.
    by_key = {s.key: s for s in sources}
    url.bind("model", f"{page}_model", sources[default].key, choices=list(by_key), what="a model")
    key = st.selectbox("Model", list(by_key), format_func=lambda k: by_key[k].label, key=f"{page}_model")
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
        st.warning(shown(exc))
    except CheckpointError as exc:  # a shipped file that is damaged or from another version
        st.error(shown(f"The shipped CIFAR-10 model cannot be loaded: {exc}"))
    return None


def _offer_download(name: str, page: str) -> None:
    """Explain how to get missing ImageNet weights, and fetch them here if the user asks."""
    size_mb = imagenet_weights(name).meta.get("_file_size", 0)
    # The offline recipe is a developer command: an audience gets the button alone.
    offline = ("" if presenting() else f"; offline, run `python -m resnet_core prefetch --weights {name}` on a "
               "machine with internet and copy the file into torch's cache here")
    st.warning(
        f"The ImageNet weights for {name} are not on this machine yet ({size_mb:.0f} MB). "
        f"Download them here if this machine is online{offline}."
    )
    if st.button(f"Download {name} weights ({size_mb:.0f} MB)", key=f"{page}_download"):
        bar = st.progress(0.0, text="Connecting…")

        def report(done: int, total: int | None) -> None:
            fraction = min(done / total, 1.0) if total else 0.0
            bar.progress(fraction, text=f"{done / 1e6:.0f} of {(total or 0) / 1e6:.0f} MB")

        try:
            download_weights(name, progress=False, on_progress=report)
        except WeightsUnavailableError as exc:
            st.error(shown(exc))
            return
        st.rerun()


def choose_picture(page: str) -> Picture | None:
    """Picture picker: a sample (the gallery's default preselected), an upload or the camera."""
    samples = cached_samples()
    modes = ["Sample", "Upload"] if samples else ["Upload"]
    modes.append("Camera")
    by_label = {s.label: s for s in samples}
    wanted = url.read_once("pic", f"{page}_sample")  # only gallery pictures: an upload has no address
    if wanted is not None and wanted in by_label:
        st.session_state[f"{page}_picture_mode"] = "Sample"
        st.session_state[f"{page}_sample"] = wanted
    elif wanted is not None:
        url.reject("pic", wanted, "a gallery picture", "the default")
    mode = st.radio("Picture", modes, horizontal=True, key=f"{page}_picture_mode")
    if mode == "Camera":
        return camera_picture(page)
    if mode != "Sample":
        url.forget("pic")
    if mode == "Sample":
        sample = by_label[st.selectbox("Sample", list(by_label), key=f"{page}_sample")]
        url.write("pic", sample.label)
        try:
            return Picture(sample.load(), sample.label, sample.true_label)
        except ImageError as exc:
            st.error(f"{sample.label}: {exc}")
            return None
    uploaded = file_uploader(
        "Upload a photo (JPEG, PNG, WebP, BMP, GIF or TIFF)", type=UPLOAD_TYPES, key=f"{page}_upload"
    )
    if uploaded is None:
        if not samples:
            st.caption("Upload a photo above to see what the model makes of it.")
        return None
    # The error belongs to this one file (issue #19, item 7): keyed by the file's id, so a new upload
    # (or none) draws no element with that key and the browser drops the old error; and hidden by
    # webui.uploads' CSS while the uploader shows a file it refused, which no rerun would report.
    message = upload_messages(f"{page}_upload", uploaded.file_id)
    try:
        return Picture(load_image(uploaded.getvalue(), max_side=PICTURE_MAX_SIDE), uploaded.name, None)
    except ImageError as exc:
        message.error(f"{uploaded.name}: {exc}")
        return None


def camera_picture(page: str) -> Picture | None:
    """A photo from the device's camera (for talks: hold an object up to the laptop)."""
    shot = st.camera_input("Take a picture", key=f"{page}_camera")
    if shot is None:
        return None
    try:
        return Picture(load_image(shot.getvalue()), "camera picture", None)
    except ImageError as exc:
        st.error(f"camera picture: {exc}")
        return None
