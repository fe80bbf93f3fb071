"""What a browser session keeps between pages: the run this tab watches, and the models it trained.

The run id lives in the URL (``?run=...``) and in session state; the models trained on the Train
and Fine-tune pages are offered to Classify, Grad-CAM, Why it works and Fine-tune. No torch here:
the sidebar runs :func:`run_heartbeat` on every page, the home page included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from resnet_core.registry import REGISTRY, format_duration, new_run_id, valid_run_id

if TYPE_CHECKING:
    from resnet_core.checkpoint import Checkpoint

__all__ = ["HEARTBEAT_S", "RUN_PARAM", "offer_trained_model", "run_heartbeat", "run_id", "trained_models",
           "watch_run"]

# --- Models trained in this browser session, offered to the Classify and Grad-CAM pages ---
_TRAINED_KEY = "trained_models"


def offer_trained_model(label: str, checkpoint: Checkpoint) -> None:
    """Make a model trained on the Train page selectable on Classify and Grad-CAM."""
    st.session_state.setdefault(_TRAINED_KEY, {})[label] = checkpoint


def trained_models() -> dict[str, Checkpoint]:
    """Models trained in this browser session, by label (newest last)."""
    return dict(st.session_state.get(_TRAINED_KEY, {}))


# --- Which run this browser tab is watching, for the process-wide job registry ----------------
# The run id lives in the URL (?run=...), so a reload (a new Streamlit session) finds the run
# again, and in session state, so switching pages (which drops query parameters) keeps it.
RUN_PARAM = "run"
_RUN_ID_KEY = "run_id"


def run_id() -> str:
    """This tab's run id: from the URL, else this session's, else a new one; written back to the URL."""
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


def run_heartbeat() -> None:
    """On every page: while this tab's run trains, say so in the sidebar and keep it alive."""
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
    REGISTRY.touch(run)
