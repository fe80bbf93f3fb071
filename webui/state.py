"""What a browser session keeps between pages: the run this tab watches, and the models it trained.

The run id lives in the URL (``?run=...``) and in session state; the models trained on the Train
and Fine-tune pages are offered to Classify, Grad-CAM, Why it works and Fine-tune. No torch here:
the sidebar runs :func:`run_heartbeat` on every page, the home page included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from resnet_core.jobs import RUNS, format_duration, new_run_id, valid_run_id

if TYPE_CHECKING:
    from resnet_core.checkpoint import Checkpoint

__all__ = ["HEARTBEAT_S", "RUN_PAGES", "RUN_PARAM", "offer_trained_model", "run_heartbeat", "run_id",
           "select_trained_model", "trained_models", "watch_run"]

# --- Models trained in this browser session, offered to the Classify and Grad-CAM pages ---
_TRAINED_KEY = "trained_models"


def offer_trained_model(label: str, checkpoint: Checkpoint) -> None:
    """Make a model trained on the Train page selectable on Classify and Grad-CAM."""
    st.session_state.setdefault(_TRAINED_KEY, {})[label] = checkpoint


def trained_models() -> dict[str, Checkpoint]:
    """Models trained in this browser session, by label (newest last)."""
    return dict(st.session_state.get(_TRAINED_KEY, {}))


def select_trained_model(page: str, label: str) -> None:
    """Open the model picker of ``page`` ("classify", "gradcam") on the trained model ``label``.

    Call it before switching to that page: its picker (``webui.widgets.choose_model``, keyed
    ``<page>_model``, options ``trained:<label>``) is new there and starts on this value.
    """
    if label not in trained_models():
        raise KeyError(f"no model {label!r} was trained in this session")
    st.session_state[f"{page}_model"] = f"trained:{label}"


# --- Which runs this browser tab is watching, among the server's runs (resnet_core.jobs.RUNS) ---
# Each page that starts jobs (Train, Fine-tune) has its own run id, so a fine-tune never replaces
# the tab's training and both can be watched. The id lives in the page's URL (?run=...), so a
# reload (a new Streamlit session) finds the run again, and in session state, so switching pages
# (which drops query parameters) keeps it.
RUN_PARAM = "run"
#: page key -> (what runs there, where to see it), for the sidebar's heartbeat.
RUN_PAGES: dict[str, tuple[str, str]] = {
    "train": ("training run", "Train page"),
    "finetune": ("fine-tuning run", "Fine-tune page"),
    "why": ("experiment", "Why it works page"),
}


def _run_key(page: str) -> str:
    if page not in RUN_PAGES:
        raise ValueError(f"no run id for page {page!r}; one of {', '.join(RUN_PAGES)}")
    return f"run_id_{page}"


def run_id(page: str, kind: type | tuple[type, ...] = object) -> str:
    """This tab's run id on ``page``: from the URL, else this session's, else a new one; written back to the URL.

    An id in the URL whose run is not a ``kind`` (another page's run) is not taken: this page
    must neither show nor replace it.
    """
    key = _run_key(page)
    from_url = st.query_params.get(RUN_PARAM)
    theirs = RUNS.get(from_url) if valid_run_id(from_url) else None
    if theirs is not None and not isinstance(theirs, kind):
        from_url = None
    value = from_url if valid_run_id(from_url) else st.session_state.get(key)
    if not valid_run_id(value):  # anything else in the URL is ignored, never used as a key
        value = new_run_id()
    st.session_state[key] = value
    if st.query_params.get(RUN_PARAM) != value:
        st.query_params[RUN_PARAM] = value
    return value


#: Seconds between the sidebar's heartbeats while this tab's run trains and another page is shown:
#: well inside RESNET_ABANDON_S (120 s), so only a closed tab lets a run be abandoned.
HEARTBEAT_S = 20.0


def run_heartbeat() -> None:
    """On every page: while one of this tab's runs trains, say so in the sidebar and keep it alive."""
    @st.fragment(run_every=HEARTBEAT_S)
    def beat(run: str, what: str, where: str) -> None:
        RUNS.touch(run)
        current = RUNS.get(run)
        if current is not None and current.is_active:
            eta = current.snapshot().eta_s
            left = "time left not known yet" if eta is None else f"about {format_duration(eta)} left"
            st.caption(f"Your {what}: {left} ({where}).")
        else:
            st.caption(f"Your {what} has ended: the results are on the {where}.")

    for page, (what, where) in RUN_PAGES.items():
        run = st.session_state.get(_run_key(page))
        job = RUNS.get(run) if run else None
        if job is not None and job.is_active:
            with st.sidebar, st.container():  # its own container: a fragment is known by where it is drawn
                beat(run, what, where)


def watch_run(run: str) -> None:
    """Heartbeat: this tab is still looking at ``run`` (call on every poll and page run)."""
    RUNS.touch(run)
