"""The one picture Classify and Grad-CAM show: chosen on either page, kept for the session (issue 18, item 7).

A gallery picture, an upload or a camera shot chosen on one page is the picture the other page opens
with, and the one a page shows again when the visitor comes back to it. Streamlit forgets a page's
widgets when another page is shown, and no file uploader can be handed a file, so the picture itself
is kept in session state (never on disk, never in the URL: only a gallery picture has an address,
``?pic=``). A page whose picker is new starts on the kept picture's mode (and gallery entry); an
uploader or camera that holds nothing shows the kept upload or shot under it, until the visitor
gives another. Imports torch (through ``webui.widgets``): only Classify and Grad-CAM import this.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from webui.resources import cached_samples
from webui.widgets import Picture, choose_picture

__all__ = ["KeptPicture", "kept_picture", "pick_picture"]

_KEPT_KEY = "shared_picture"
_FILES_KEY = "shared_picture_files"  # page -> id of the file its uploader or camera held at its last run
_FILE_WIDGETS = {"Upload": "upload", "Camera": "camera"}  # picker mode -> the key suffix of its widget
_REPLACE = {"Upload": "upload another file to replace it", "Camera": "take another picture to replace it"}


@dataclass(frozen=True)
class KeptPicture:
    """The session's picture and where it came from."""

    picture: Picture
    mode: str  # the picker mode it was chosen in: "Sample", "Upload" or "Camera"
    origin: str  # the gallery entry's label, or the uploaded file's id


def kept_picture() -> KeptPicture | None:
    """The picture this session last chose on Classify or Grad-CAM, if any."""
    return st.session_state.get(_KEPT_KEY)


def pick_picture(page: str) -> Picture | None:
    """:func:`webui.widgets.choose_picture` for ``page``, sharing one picture with the other page."""
    kept = kept_picture()
    files: dict[str, str] = st.session_state.setdefault(_FILES_KEY, {})
    mode_key, sample_key = f"{page}_picture_mode", f"{page}_sample"
    if mode_key not in st.session_state:  # a new picker: the first visit, or back from another page
        files.pop(page, None)
        if kept is not None and (kept.mode != "Sample" or kept.origin in {s.label for s in cached_samples()}):
            st.session_state[mode_key] = kept.mode
            if kept.mode == "Sample":
                st.session_state[sample_key] = kept.origin
    # A ?pic= link, read once per session inside choose_picture, still wins over the kept picture.
    picture = choose_picture(page)
    mode = st.session_state.get(mode_key)
    widget = _FILE_WIDGETS.get(mode)
    file = st.session_state.get(f"{page}_{widget}") if widget else None
    if file is not None:
        files[page] = file.file_id
    if picture is not None:
        origin = file.file_id if file is not None else st.session_state[sample_key]
        st.session_state[_KEPT_KEY] = KeptPicture(picture, mode, origin)
        return picture
    if widget is None or file is not None:
        return None  # a gallery photo or a file that did not load: its error is on the page
    removed = files.pop(page, None)
    if removed is not None:  # the visitor took the file out of this picker: it is gone everywhere
        if kept is not None and kept.origin == removed:
            del st.session_state[_KEPT_KEY]
        return None
    if kept is not None and kept.mode == mode:
        st.caption(f"Showing “{kept.picture.name}”, chosen earlier in this session: {_REPLACE[mode]}.")
        return kept.picture
    return None
