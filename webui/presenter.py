"""Presenter mode: the app on a projector. Large chart and diagram text, no developer detail.

On with the sidebar's toggle or ``?present=1`` (``?present=0`` turns it off), kept in session
state across pages (a page switch drops the URL's query parameters) and written back to each
page's URL, so a reload or a copied link stays in presenter mode. The figures read
:func:`presenting` in one place, ``webui.style.layout``; the diagrams take :func:`diagram_font_size`.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from resnet_core.diagrams import FONT_SIZE, PRESENTER_FONT_SIZE  # torch-free: the anatomy's records only

__all__ = ["PARAM", "diagram_font_size", "expanded", "presenter_css", "presenter_toggle", "presenting"]

PARAM = "present"
_STATE = "presenting"  # session state: survives page switches, unlike the URL's parameters
_WIDGET = "presenter_toggle"  # the sidebar toggle's own key, set from _STATE before it is drawn


# rem units scale Streamlit's whole text (body, captions, widgets) with the root font size;
# captions turn from light grey to the text colour, which a projector washes out less.
_CSS = """
<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding-top: 4rem; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 0.95rem; color: #1d2330; }
</style>
"""


def presenting() -> bool:
    """Whether this session is in presenter mode; ``False`` outside a Streamlit run (tests, benchmarks)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return False
    asked = st.query_params.get(PARAM)
    if asked in ("1", "0"):
        st.session_state[_STATE] = asked == "1"
    return bool(st.session_state.get(_STATE, False))


def _toggled() -> None:
    st.session_state[_STATE] = bool(st.session_state[_WIDGET])
    if not st.session_state[_STATE]:
        st.query_params.pop(PARAM, None)


def presenter_toggle() -> None:
    """The sidebar's toggle; keeps ``?present=1`` in this page's URL while it is on."""
    on = presenting()
    st.session_state[_WIDGET] = on
    st.toggle("Presenter mode", key=_WIDGET, on_change=_toggled,
              help="For a projector: large text, full width, Previous/Next buttons (keys P and N), no developer "
                   "detail. Also ?present=1 in the address.")
    if on and st.query_params.get(PARAM) != "1":
        st.query_params[PARAM] = "1"


def presenter_css() -> None:
    """Larger text for the whole page, in presenter mode only."""
    if presenting():
        st.html(_CSS)


def diagram_font_size() -> int:
    """Font size for ``resnet_core.diagrams``: larger in presenter mode."""
    return PRESENTER_FONT_SIZE if presenting() else FONT_SIZE


def expanded(default: bool) -> bool:
    """An explanation's ``st.expander(expanded=...)``: closed in presenter mode, where the speaker explains."""
    return default and not presenting()
