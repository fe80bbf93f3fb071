"""Streamlit glue shared by the pages: page setup, the machine sidebar and cached resources.

Pages import this module; ``resnet_core`` never does. Keep it small: anything worth testing
belongs in the core.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

import streamlit as st
from PIL import Image

from resnet_core.checkpoint import Checkpoint, CheckpointError
from resnet_core.classify import Classifier, ModelSource, classifier_from_checkpoint, load_classifier, model_sources
from resnet_core.environment import machine_status
from resnet_core.images import ImageError, load_image
from resnet_core.pretrained import WeightsUnavailableError, download_weights, imagenet_weights
from resnet_core.samples import Sample, cifar10_test_samples, photo_samples
from resnet_core.summary import ComparisonRow, ModelSummary, compare_models, summarize


# (script, label, icon): the sidebar links. Streamlit's own page list is hidden in
# .streamlit/config.toml because it would label the home page "app".
PAGES: tuple[tuple[str, str, str], ...] = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Architecture.py", "Architecture", ":material/account_tree:"),
    ("pages/2_Train.py", "Train", ":material/monitoring:"),
    ("pages/3_Classify.py", "Classify", ":material/image_search:"),
    ("pages/4_Grad-CAM.py", "Grad-CAM", ":material/local_fire_department:"),
)


def setup_page(title: str, icon: str) -> None:
    """Set the page's config and draw the sidebar: the pages and what this machine has."""
    st.set_page_config(page_title=f"{title} · ResNet explorer", page_icon=icon, layout="wide")
    status = machine_status()  # a few file checks: cheap, and always current
    with st.sidebar:
        for path, label, nav_icon in PAGES:
            st.page_link(path, label=label, icon=nav_icon)
        st.divider()
        st.caption("This machine")
        st.markdown(f"**Device:** {status.device}")
        if status.cifar10_dir is not None:
            st.markdown(f"**CIFAR-10:** found at `{status.cifar10_dir}`")
        else:
            st.markdown("**CIFAR-10:** not found. Synthetic data is used; see the Train page.")
        if status.pretrained_cached:
            st.markdown(f"**ImageNet weights:** {', '.join(status.pretrained_cached)}")
        else:
            st.markdown("**ImageNet weights:** none cached (`python -m resnet_core prefetch`)")


# --- Models trained in this browser session, offered to the Classify and Grad-CAM pages ---
_TRAINED_KEY = "trained_models"


def offer_trained_model(label: str, checkpoint: Checkpoint) -> None:
    """Make a model trained on the Train page selectable on Classify and Grad-CAM."""
    st.session_state.setdefault(_TRAINED_KEY, {})[label] = checkpoint


def trained_models() -> dict[str, Checkpoint]:
    """Models trained in this browser session, by label (newest last)."""
    return dict(st.session_state.get(_TRAINED_KEY, {}))


# Summaries depend only on the code, so they are cached for the life of the server and shared by
# every session; the results are small frozen dataclasses (a few hundred rows at most).
@st.cache_data(show_spinner="Tracing the model…")
def cached_summary(name: str, residual: bool) -> ModelSummary:
    """``resnet_core.summary.summarize`` at the variant's native input size, cached."""
    return summarize(name, residual=residual)


@st.cache_data(show_spinner="Measuring every variant…")
def cached_comparison() -> tuple[ComparisonRow, ...]:
    """``resnet_core.summary.compare_models`` over every registered variant, cached."""
    return compare_models()


# --- Cached, shared resources for Classify and Grad-CAM ---------------------------------------
# One copy per server process, shared by every session: the core never mutates these models
# (inference_mode, eval mode, hooks removed), so sharing is safe. Two entries bound the memory on
# Streamlit Community Cloud (ResNet-152 alone is ~240 MB).


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def cached_classifier(key: str) -> Classifier:
    """The shipped or an already-downloaded ImageNet model (raises WeightsUnavailableError)."""
    return load_classifier(key)


@st.cache_resource(show_spinner="Reading the CIFAR-10 test images…")
def cached_samples() -> list[Sample]:
    """Sample photos first, then CIFAR-10 test images; empty where neither is configured."""
    return photo_samples() + cifar10_test_samples()


# --- The model and picture pickers shared by Classify and Grad-CAM ------------------------------
# Each picker draws its widgets, makes one call into resnet_core and returns what the page needs,
# or None after telling the user (st.error / st.warning) why there is nothing.

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff", "heic", "heif"]


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
    """Picture picker: a sample (photos and CIFAR-10 test images), an upload or the camera."""
    samples = cached_samples()
    modes = ["Sample", "Upload"] if samples else ["Upload"]
    modes.append("Camera")
    mode = st.radio("Picture", modes, horizontal=True, key=f"{page}_picture_mode")
    if mode == "Camera":
        return _camera_picture(page)
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


def _camera_picture(page: str) -> Picture | None:
    """A photo from the device's camera (for talks: hold an object up to the laptop)."""
    shot = st.camera_input("Take a picture", key=f"{page}_camera")
    if shot is None:
        return None
    try:
        return Picture(load_image(shot.getvalue()), "camera picture", None)
    except ImageError as exc:
        st.error(f"camera picture: {exc}")
        return None


# --- Identity of this browser session, for the process-wide training-job registry ---
_SESSION_ID_KEY = "session_id"


def session_id() -> str:
    """A random id for this browser session, stable across reruns and page switches.

    Kept in plain session state (not widget state, which Streamlit drops when a page stops
    drawing the widget), so the Train page finds its running job again after any rerun.
    """
    if _SESSION_ID_KEY not in st.session_state:
        st.session_state[_SESSION_ID_KEY] = uuid.uuid4().hex
    return st.session_state[_SESSION_ID_KEY]
