"""The story on screen: Previous/Next buttons in presenter mode, and "Next: <page>" at the end of every page."""

from __future__ import annotations

import streamlit as st

from webui.pages import HOME, Page, page
from webui.presenter import presenting
from webui.story import PARTS, chapter, next_page, previous_page

__all__ = ["NEXT_KEY", "PREVIOUS_KEY", "next_link", "open_page", "story_buttons"]

NEXT_KEY, PREVIOUS_KEY = "story_next", "story_previous"
# Single letters: Streamlit ignores a shortcut typed into a text box, and neither scrolls the
# page (PageDown would, and a long page needs it in a talk). C and R are Streamlit's own.
NEXT_SHORTCUT, PREVIOUS_SHORTCUT = "N", "P"
_CURRENT = "story_page"  # session state: the label of the page this run draws (set by open_page)


def open_page(label: str) -> Page:
    """Note which page this run draws, for :func:`next_link`; returns it."""
    current = page(label)
    st.session_state[_CURRENT] = label
    return current


def story_buttons(current: Page) -> None:
    """Presenter mode: where this page is in the story, with Previous and Next buttons (keys P and N)."""
    if not presenting():
        return
    before, after = previous_page(current), next_page(current)
    info = chapter(current)
    left, middle, right = st.columns([4, 5, 4], vertical_alignment="center")  # room for "Next: Why it works"
    if left.button(f"Previous: {before.label}" if before else "Previous", key=PREVIOUS_KEY, icon=":material/arrow_back:",
                   disabled=before is None, shortcut=PREVIOUS_SHORTCUT, width="stretch") and before:
        st.switch_page(before.path)
    middle.markdown(f"**Part {info.number} of {PARTS}: {info.part}**")
    if right.button(f"Next: {after.label}" if after else "Next", key=NEXT_KEY, icon=":material/arrow_forward:",
                    icon_position="right", type="primary", disabled=after is None, shortcut=NEXT_SHORTCUT,
                    width="stretch") and after:
        st.switch_page(after.path)


def next_link() -> None:
    """The end of every page: a link to the next page of the story (the last page's goes back home)."""
    current = page(st.session_state.get(_CURRENT, HOME.label))
    after = next_page(current)
    st.divider()
    if after is None:
        st.page_link(HOME.path, label="Next: back to the start (Home)", icon=HOME.icon)
    else:
        part = chapter(after)
        st.page_link(after.path, label=f"Next: {after.label}", icon=after.icon)
        st.caption(f"Part {part.number} of {PARTS}: {part.part}.")
