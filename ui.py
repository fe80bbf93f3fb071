"""Streamlit glue shared by the pages: page setup, the machine sidebar and cached resources.

Pages import this module; ``resnet_core`` never does. Keep it small: anything worth testing
belongs in the core.
"""

from __future__ import annotations

import streamlit as st

from resnet_core.checkpoint import Checkpoint
from resnet_core.classify import Classifier, load_classifier
from resnet_core.environment import machine_status
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
