"""On a public server (served to other machines) no page shows a server path (issue #19, item 5).

The page decides "local" from the request (webui/locality.py); AppTest seeds the browser's URL
through ``at.context``, so the same pages are seen once as from a visitor's machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pagetest import open_app_page
from streamlit.testing.v1 import AppTest
from webui import pages
from webui.locality import PATH_WORDS, is_local, is_loopback_host, redact_paths

from resnet_core.settings import CACHE_DIR_ENV, DATA_DIR_ENV, DATA_FOLDERS_ENV

PUBLIC = {"url": "https://resnet-explorer.streamlit.app/"}
LOCAL = {"url": "http://localhost:8501/"}


def every_text(at: AppTest) -> str:
    parts = [str(getattr(e, "value", "")) for kind in ("markdown", "caption", "info", "warning", "error", "success")
             for e in getattr(at, kind)]
    parts += [str(w.value) for w in at.text_input]
    return "\n".join(parts)


@pytest.mark.parametrize("url,header,address,local", [
    ("localhost:8501", "localhost:8501", None, True),
    ("127.0.0.1:8501", None, None, True),
    ("[::1]:8501", "[::1]:8501", None, True),
    ("x.streamlit.app", "localhost:8501", None, False),  # a proxy in front: the visitor's address counts
    ("localhost:8501", "x.streamlit.app", None, False),  # a forged URL: the request's host counts
    ("192.168.1.5:8501", None, None, False),
    (None, None, None, True),  # no request at all (a bare run): nobody else is there
    (None, None, "0.0.0.0", False),
    (None, None, "127.0.0.1", True),
])
def test_local_means_every_known_host_is_loopback(url, header, address, local) -> None:
    assert is_local(url, header, address) is local


def test_loopback_hosts() -> None:
    assert all(is_loopback_host(h) for h in ("localhost", "LOCALHOST:80", "127.0.0.1", "127.1.2.3:9", "::1", "[::1]:1"))
    assert not any(is_loopback_host(h) for h in ("", None, "localhost.evil.com", "10.0.0.1", "example.com"))


def test_paths_are_taken_out_of_messages_but_urls_stay() -> None:
    text = "could not download into /home/u/.cache/resnet_core/data; see https://download.pytorch.org/whl/cpu"
    assert redact_paths(text) == f"could not download into {PATH_WORDS}; see https://download.pytorch.org/whl/cpu"


@pytest.fixture
def cifar_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A (tiny, fake) CIFAR-10 copy at a path no page may show, and no folder setting."""
    root = tmp_path / "secret-server-dir" / "cifar-10-batches-py"
    root.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (root / name).write_bytes(b"x")
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "secret-cache"))
    monkeypatch.delenv(DATA_FOLDERS_ENV, raising=False)
    return root


@pytest.mark.parametrize("page", [p.path for p in pages.PAGES if p.label in ("Home", "Train", "Architecture")])
def test_no_page_shows_a_server_path_to_a_visitor(cifar_here: Path, page: str) -> None:
    at = open_app_page(page, timeout=120)
    at.context = PUBLIC
    at.run()
    assert not at.exception
    shown = every_text(at)
    assert "CIFAR-10:** found, on this server" in shown
    assert "secret" not in shown and str(Path.home()) not in shown
    if page == pages.page("Train").path:
        at.radio(key="data_source").set_value("CIFAR-10").run()
        shown = every_text(at)
        assert not [w for w in at.text_input if w.key == "data_dir"]  # auto is off for a visitor
        assert "secret" not in shown  # the broken copy's error names no folder
        assert not re.search(r"(?<![\w:/])/(tmp|home|root|srv)/", shown), shown


def test_on_localhost_the_path_and_the_box_stay(cifar_here: Path) -> None:
    at = open_app_page(pages.page("Train").path, timeout=120)
    at.context = LOCAL
    at.run()
    at.radio(key="data_source").set_value("CIFAR-10").run()
    assert f"found at `{cifar_here}`" in every_text(at)
    assert at.text_input(key="data_dir").value == str(cifar_here)
