"""An upload's error belongs to that upload: the next one replaces it (issue #19, item 7).

A visitor who uploads a broken file and then another one must see only the new file's outcome,
never the previous file's error beside it. Here, in AppTest, the server's side: the messages
drawn right after their uploader (where ``webui.uploads``' CSS finds them when the browser
refuses a file; ``tests/test_browser_upload.py`` checks that part) and one size limit, the
server's ``server.maxUploadSize``, in every uploader and in Fine-tune's own check.
"""

from __future__ import annotations

import io
import tomllib

from pagetest import ROOT, open_app_page
from pictures import shape_files, zip_bytes
from PIL import Image
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, FileUploader

from webui import pages
from webui.uploads import MESSAGES_KEY

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


def config_limit_mb() -> int:
    """``server.maxUploadSize`` as ``.streamlit/config.toml`` sets it."""
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]


def messages_after(at: AppTest, key: str) -> Block:
    """The element right after uploader ``key`` in its block, which must be its message container."""
    uploader = at.file_uploader(key=key)
    parent = next(n for n in at.main if isinstance(n, Block) and any(c is uploader for c in n.children.values()))
    siblings = list(parent.children.values())
    after = siblings[[id(c) for c in siblings].index(id(uploader)) + 1]
    assert isinstance(after, Block) and after.key.startswith(f"{MESSAGES_KEY}_{key}"), after
    return after


def test_the_pickers_error_is_in_the_container_right_after_its_uploader() -> None:
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    if "Upload" in at.radio(key="t_picture_mode").options:
        at.radio(key="t_picture_mode").set_value("Upload").run()
    at.file_uploader(key="t_upload").set_value(("first.jpg", b"not a photo" * 10, "image/jpeg")).run()
    box = messages_after(at, "t_upload")
    assert [e.value.split(":")[0] for e in box.error] == ["first.jpg"]
    assert at.file_uploader(key="t_upload").proto.max_upload_size_mb == config_limit_mb()


def test_fine_tune_takes_what_the_server_takes_and_says_so_next_to_each_uploader() -> None:
    limit = config_limit_mb()
    at = open_app_page(pages.page("Fine-tune").path)
    at.run()
    at.text_input(key="ft_class_name").set_value("mug")
    at.button[[b.label for b in at.button].index("Add class")].click().run()
    assert not at.exception, [e.value for e in at.exception]
    uploaders: list[FileUploader] = [at.file_uploader(key="ft_zip"), at.file_uploader(key="ft_upload_mug")]
    assert [u.proto.max_upload_size_mb for u in uploaders] == [limit, limit]
    assert f"at most {limit} MB" in at.file_uploader(key="ft_zip").label

    at.file_uploader(key="ft_upload_mug").set_value([("broken.png", b"not a photo" * 10, "image/png")]).run()
    warnings = [w.value for w in messages_after(at, "ft_upload_mug").warning]  # an unreadable picture is skipped
    assert [w.split(" ")[0] for w in warnings] == ["broken.png"], warnings

    # A picture inside a zip is held to the same limit: skipped from the zip's directory, unread.
    pictures = shape_files(("circle", "square"), per_class=2)
    entries = {f"{c}/{name}": data for c, files in pictures.items() for name, data in files}
    entries["circle/huge.png"] = bytes(limit * 2**20 + 1)  # zeros: a few KB once deflated
    at.file_uploader(key="ft_zip").set_value(("pets.zip", zip_bytes(entries), "application/zip")).run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in messages_after(at, "ft_zip").warning]
    assert any(f"huge.png (larger than the {limit} MB limit per picture)" in w for w in warnings), warnings
