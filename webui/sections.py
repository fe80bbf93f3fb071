"""Expandable sections that stay open while their label changes.

An expander's identity includes its label. The Architecture page's labels name the variant's
shapes, so on its own every switch of variant would make each section a new, closed widget. The
keys of the open sections are kept in session state, and a new widget opens from them.
"""

from __future__ import annotations

import streamlit as st
from streamlit.elements.lib.mutable_expander_container import ExpanderContainer

__all__ = ["lasting_expander", "open_section"]

_OPEN = "open_sections"  # session state: the keys of the sections open now


def open_section(key: str) -> None:
    """Open the section ``key`` before it is drawn (a URL that names it)."""
    st.session_state[key] = True
    st.session_state.setdefault(_OPEN, set()).add(key)


def lasting_expander(label: str, *, key: str) -> ExpanderContainer:
    """``st.expander(label, key=key, on_change="rerun")``, open if it was open under any label.

    Its ``.open`` is this run's state (``on_change="rerun"``); closed, it stays closed.
    """
    remembered: set[str] = st.session_state.setdefault(_OPEN, set())
    box = st.expander(label, key=key, on_change="rerun", expanded=key in remembered)
    if box.open:
        remembered.add(key)
    else:
        remembered.discard(key)
    return box
