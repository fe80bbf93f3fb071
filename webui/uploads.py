"""File uploaders: the one size limit, and page messages that give way to the uploader's own refusals.

The size limit is ``server.maxUploadSize`` (``.streamlit/config.toml``): the server refuses any
larger request, so an uploader that let more through in the browser would only fail later, and a
page check with another number would contradict it.

A file the uploader refuses in the browser (too large, a type it does not take, a failed
transfer) never reaches the server, so the script does not rerun and a page message about the
previous file would stay beside the uploader's own complaint (issue #19, item 7). A CSS rule hides
the messages drawn right after an uploader while the newest file in it is one it refused; no
script runs, the rule follows the uploader's file list as it changes: removing the refused file
shows the message again, because the file it is about is still in the uploader. Browsers without
CSS ``:has()`` (Chrome and Safari before 2022, Firefox before 2023) keep both messages, as before.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

__all__ = ["MESSAGES_KEY", "REFUSAL_CSS", "file_uploader", "upload_limit_bytes", "upload_limit_mb",
           "upload_messages"]

#: Key prefix of every message container; Streamlit gives a keyed container the class ``st-key-<key>``.
MESSAGES_KEY = "upload_messages"

# An uploader's element container whose last file chip is a refused one (``aria-invalid``; a chip
# is appended, so the last is the newest), and the message container right after it. Streamlit
# 1.67's DOM: stFileChips > list > one wrapper per chip; a keyed container sits in a stLayoutWrapper.
# tests/test_browser_upload.py fails if a Streamlit upgrade changes what this relies on.
REFUSAL_CSS = f"""
<style>
[data-testid="stElementContainer"]:has(> [data-testid="stFileUploader"] [data-testid="stFileChips"] > * > :last-child
    [data-testid="stFileChip"][aria-invalid="true"])
  + [data-testid="stLayoutWrapper"]:has(> [class*="st-key-{MESSAGES_KEY}_"]) {{ display: none; }}
</style>
"""


def upload_limit_mb() -> int:
    """Megabytes one uploaded file may have: ``server.maxUploadSize``, which the server enforces."""
    return int(st.get_option("server.maxUploadSize"))


def upload_limit_bytes() -> int:
    """:func:`upload_limit_mb` in bytes (Streamlit counts a megabyte as 2**20 bytes)."""
    return upload_limit_mb() * 2**20


def file_uploader(label: str, key: str, **kwargs: Any) -> Any:
    """``st.file_uploader`` capped at :func:`upload_limit_mb`; draw ``upload_messages(key)`` right after it."""
    st.html(REFUSAL_CSS)  # a style-only st.html goes to the page's event container: no height
    return st.file_uploader(label, key=key, max_upload_size=upload_limit_mb(), **kwargs)


def upload_messages(key: str, part: str = "") -> DeltaGenerator:
    """The container for what the page says about the files of uploader ``key``.

    Draw it directly after the uploader (nothing between them): the CSS rule only hides the
    element that follows it. ``part`` (a file id, say) ties the container to what it is about:
    a container with another key is a new element, so no old message lingers while a rerun runs.
    """
    # Any string is a valid key (Streamlit cleans it for the class name), so two class names that
    # differ only in punctuation still get two containers.
    return st.container(key=f"{MESSAGES_KEY}_{key}" + (f"_{part}" if part else ""))
