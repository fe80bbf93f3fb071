"""An upload's error belongs to that upload: the next one replaces it (issue #19, item 7).

A visitor who uploads a broken file and then another one must see only the new file's outcome,
never the previous file's error beside it.
"""

from __future__ import annotations

import io

from PIL import Image
from streamlit.testing.v1 import AppTest

SCRIPT = """
import streamlit as st
from webui.widgets import choose_picture
picture = choose_picture("t")
if picture is not None:
    st.success(f"got {picture.name}")
"""


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 40, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_a_new_upload_replaces_the_previous_error() -> None:
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    if "Upload" in at.radio(key="t_picture_mode").options:
        at.radio(key="t_picture_mode").set_value("Upload").run()
    uploader = at.file_uploader(key="t_upload")
    uploader.set_value(("first.jpg", b"not a photo" * 10, "image/jpeg")).run()
    assert [e.split(":")[0] for e in errors(at)] == ["first.jpg"]
    at.file_uploader(key="t_upload").set_value(("second.png", b"\x89PNG\r\n\x1a\n" + b"broken" * 20, "image/png")).run()
    assert [e.split(":")[0] for e in errors(at)] == ["second.png"]  # only the new file's error
    assert not at.success
    at.file_uploader(key="t_upload").set_value(("good.png", png(), "image/png")).run()
    assert errors(at) == [] and [s.value for s in at.success] == ["got good.png"]
    at.file_uploader(key="t_upload").set_value(None).run()
    assert errors(at) == [] and not at.success
