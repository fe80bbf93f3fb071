"""Streamlit glue shared by the pages: page setup, the machine sidebar and cached resources.

Pages import this module; ``resnet_core`` never does. Keep it small: anything worth testing
belongs in the core.

Imports of torch, torchvision and the models happen inside the functions that need them: the
home page and the sidebar use none of them, and a first visit should cost the server ~150 MB
and a second or two, not the ~700 MB and ~6 s of loading torch and torchvision (issue #10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import streamlit as st

from resnet_core.environment import machine_status
from resnet_core.memory import release_memory_now_and_then

if TYPE_CHECKING:
    from PIL import Image

    from resnet_core.checkpoint import Checkpoint
    from resnet_core.classify import Classifier, ModelSource
    from resnet_core.samples import Sample
    from resnet_core.summary import ComparisonRow, ModelSummary

# (script, label, icon): the sidebar links. Streamlit's own page list is hidden in
# .streamlit/config.toml because it would label the home page "app".
PAGES: tuple[tuple[str, str, str], ...] = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Architecture.py", "Architecture", ":material/account_tree:"),
    ("pages/2_Train.py", "Train", ":material/monitoring:"),
    ("pages/2_Why_it_works.py", "Why it works", ":material/lightbulb:"),
    ("pages/3_Classify.py", "Classify", ":material/image_search:"),
    ("pages/4_Grad-CAM.py", "Grad-CAM", ":material/local_fire_department:"),
    ("pages/5_Fine-tune.py", "Fine-tune", ":material/model_training:"),
)


def setup_page(title: str, icon: str) -> None:
    """Set the page's config and draw the sidebar: the pages and what this machine has."""
    st.set_page_config(page_title=f"{title} · ResNet explorer", page_icon=icon, layout="wide")
    release_memory_now_and_then()  # what earlier reruns dropped (a big photo) goes back to the OS
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
    _run_heartbeat()


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
    from resnet_core.summary import summarize

    return summarize(name, residual=residual)


@st.cache_data(show_spinner="Measuring every variant…")
def cached_comparison() -> tuple[ComparisonRow, ...]:
    """Every registered variant's numbers: shipped with the package, measured only if missing."""
    from resnet_core.summary import shipped_comparison

    return shipped_comparison()


# --- Cached, shared resources for Classify and Grad-CAM ---------------------------------------
# One copy per server process, shared by every session: the core never mutates these models
# (inference_mode, eval mode, hooks removed), so sharing is safe. Two entries bound the memory on
# Streamlit Community Cloud (ResNet-152 alone is ~240 MB).


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def cached_classifier(key: str) -> Classifier:
    """The shipped or an already-downloaded ImageNet model (raises WeightsUnavailableError)."""
    from resnet_core.classify import load_classifier

    return load_classifier(key)


@st.cache_resource(show_spinner="Reading the sample pictures…")
def cached_samples() -> list[Sample]:
    """The built-in gallery (its default first), your sample photos, then CIFAR-10 test images."""
    from resnet_core.data import DataError
    from resnet_core.samples import all_samples, gallery_samples, photo_samples

    try:
        return all_samples()
    except DataError:  # a damaged CIFAR-10 copy: the Train page says what is wrong with it
        return gallery_samples() + photo_samples()


# --- The model and picture pickers shared by Classify and Grad-CAM ------------------------------
# Each picker draws its widgets, makes one call into resnet_core and returns what the page needs,
# or None after telling the user (st.error / st.warning) why there is nothing.

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
    from resnet_core.checkpoint import CheckpointError
    from resnet_core.classify import classifier_from_checkpoint, model_sources
    from resnet_core.pretrained import WeightsUnavailableError

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
    from resnet_core.pretrained import WeightsUnavailableError, download_weights, imagenet_weights

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
    """Picture picker: a sample (the gallery's default preselected), an upload or the camera."""
    from resnet_core.images import ImageError, load_image

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
            st.caption("Upload a photo above to see what the model makes of it.")
        return None
    try:
        return Picture(load_image(uploaded.getvalue(), max_side=PICTURE_MAX_SIDE), uploaded.name, None)
    except ImageError as exc:
        st.error(f"{uploaded.name}: {exc}")
        return None


def _camera_picture(page: str) -> Picture | None:
    """A photo from the device's camera (for talks: hold an object up to the laptop)."""
    from resnet_core.images import ImageError, load_image

    shot = st.camera_input("Take a picture", key=f"{page}_camera")
    if shot is None:
        return None
    try:
        return Picture(load_image(shot.getvalue()), "camera picture", None)
    except ImageError as exc:
        st.error(f"camera picture: {exc}")
        return None


# --- Which run this browser tab is watching, for the process-wide job registry ----------------
# The run id lives in the URL (?run=...), so a reload (a new Streamlit session) finds the run
# again, and in session state, so switching pages (which drops query parameters) keeps it.
RUN_PARAM = "run"
_RUN_ID_KEY = "run_id"


def run_id() -> str:
    """This tab's run id: from the URL, else this session's, else a new one; written back to the URL."""
    from resnet_core.registry import new_run_id, valid_run_id

    from_url = st.query_params.get(RUN_PARAM)
    value = from_url if valid_run_id(from_url) else st.session_state.get(_RUN_ID_KEY)
    if not valid_run_id(value):  # anything else in the URL is ignored, never used as a key
        value = new_run_id()
    st.session_state[_RUN_ID_KEY] = value
    if from_url != value:
        st.query_params[RUN_PARAM] = value
    return value


#: Seconds between the sidebar's heartbeats while this tab's run trains and another page is shown:
#: well inside RESNET_ABANDON_S (120 s), so only a closed tab lets a run be abandoned.
HEARTBEAT_S = 20.0


def _run_heartbeat() -> None:
    """On every page: while this tab's run trains, say so in the sidebar and keep it alive."""
    from resnet_core.registry import REGISTRY, format_duration

    run = st.session_state.get(_RUN_ID_KEY)
    job = REGISTRY.get(run) if run else None
    if job is None or not job.is_active:
        return

    @st.fragment(run_every=HEARTBEAT_S)
    def beat() -> None:
        REGISTRY.touch(run)
        current = REGISTRY.get(run)
        if current is not None and current.is_active:
            eta = current.snapshot().eta_s
            left = "time left not known yet" if eta is None else f"about {format_duration(eta)} left"
            st.caption(f"Your training run: {left} (Train page).")
        else:
            st.caption("Your training run has ended: the results are on the Train page.")

    with st.sidebar:
        beat()


def watch_run(run: str) -> None:
    """Heartbeat: this tab is still looking at ``run`` (call on every poll and page run)."""
    from resnet_core.registry import REGISTRY

    REGISTRY.touch(run)


def session_id() -> str:
    """Kept for pages not yet moved to :func:`run_id`: the same id."""
    return run_id()
