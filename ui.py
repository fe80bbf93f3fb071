"""Streamlit glue shared by the pages: page setup, the machine sidebar and cached resources.

Pages import this module; ``resnet_core`` never does. Keep it small: anything worth testing
belongs in the core.
"""

from __future__ import annotations

import uuid

import streamlit as st

from resnet_core.checkpoint import Checkpoint
from resnet_core.environment import MachineStatus, machine_status


@st.cache_data(ttl=30, show_spinner=False)
def _status() -> MachineStatus:
    return machine_status()


def setup_page(title: str, icon: str) -> None:
    """Set the page's config and draw the sidebar that says what this machine has."""
    st.set_page_config(page_title=f"{title} · ResNet explorer", page_icon=icon, layout="wide")
    status = _status()
    with st.sidebar:
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
