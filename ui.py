"""Streamlit glue shared by the pages: page setup, the machine sidebar and cached resources.

Pages import this module; ``resnet_core`` never does. Keep it small: anything worth testing
belongs in the core.
"""

from __future__ import annotations

import streamlit as st

from resnet_core.environment import MachineStatus, machine_status
from resnet_core.summary import ComparisonRow, ModelSummary, compare_models, summarize


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
