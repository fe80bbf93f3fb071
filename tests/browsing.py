"""The running app and Chromium for the browser tests: one server and one browser per test process.

Session-scoped (``tests/conftest.py`` imports the fixtures), so every browser test module of a
pytest-xdist worker shares one ``streamlit run app.py`` and one Chromium: each server start, and
each page's first (cold) view, is paid once per worker, not once per module.
Skips where no Chromium or Playwright exists, unless ``RESNET_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from webui.pages import PAGES as APP_PAGES

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-results" / "screenshots"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # This machine's network is closed: background fetches only produce refused connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# URL path of each page, by label: Streamlit derives it from the file name, minus the number prefix.
PAGES = {p.label: p.url_path for p in APP_PAGES}

def _require_or_skip(reason: str) -> None:
    if os.environ.get("RESNET_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here (RESNET_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    for path in CHROMIUM_CANDIDATES:
        if Path(path).exists():
            return path
    found = shutil.which("chromium")
    if found:
        return found
    _require_or_skip("no Chromium found: install it with `apt-get install -y chromium` (Debian)")
    raise AssertionError  # unreachable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """A live ``streamlit run app.py`` on a free port; stopped when the test session ends."""
    port = free_port()
    (ROOT / "test-results").mkdir(exist_ok=True)
    log = open(ROOT / "test-results" / "streamlit-server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start (exit {proc.poll()}); see test-results/streamlit-server.log")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require_or_skip("Playwright for Python is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield b
        b.close()


def wait_for_script(page: object, timeout_s: float = 60) -> None:
    """Wait until Streamlit has connected and the page script has finished running."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_s * 1000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_s * 1000)
    page.wait_for_selector("h1", timeout=timeout_s * 1000)


# The page is drawn: no element still shows its loading skeleton, every Plotly chart has its data,
# every Graphviz chart its SVG, every picture (a shipped diagram among them) is decoded. Streamlit
# loads each element kind's code on first use (React.lazy) and shows a skeleton (``stSkeleton``)
# in its place until it arrives, so after the script ends a widget can still be missing while
# later plain-text elements are already there.
PAGE_DRAWN = ("() => !document.querySelector('[data-testid=\"stSkeleton\"]')"
              " && [...document.querySelectorAll('.js-plotly-plot')].every(p => p.data)"
              " && [...document.querySelectorAll('[data-testid=\"stGraphVizChart\"]')].every(g => g.querySelector('svg'))"
              " && [...document.querySelectorAll('[data-testid=\"stImage\"] img')].every(i => i.complete && i.naturalWidth > 0)")

# The text of every diagram on the page, joined: the shipped SVG pictures (``webui.diagram``; their
# SVG is in the image's data URL, UTF-8) and any Graphviz chart laid out in the browser.
DIAGRAM_TEXT = ("() => [...document.querySelectorAll('img[src^=\"data:image/svg+xml;base64,\"]')]"
                ".map(i => new DOMParser().parseFromString(new TextDecoder().decode("
                "Uint8Array.from(atob(i.src.split(',')[1]), c => c.charCodeAt(0))), 'image/svg+xml').documentElement.textContent)"
                ".concat([...document.querySelectorAll('[data-testid=\"stGraphVizChart\"] svg')].map(s => s.textContent))"
                ".join(' ')")
# Diagrams on the page: shipped pictures and browser-drawn charts.
DIAGRAMS = ("[...document.querySelectorAll('img[src^=\"data:image/svg+xml;base64,\"]')]"
            ".concat([...document.querySelectorAll('[data-testid=\"stGraphVizChart\"] svg')])")


def wait_for_drawn(page: object, timeout_s: float = 30) -> None:
    """Wait until every element on the page is mounted and drawn (see ``PAGE_DRAWN``).

    Call it before asserting that something is, or is not, on the page.
    """
    page.wait_for_function(PAGE_DRAWN, timeout=timeout_s * 1000)


def error_texts(page: object) -> list[str]:
    """Texts of every exception or ``st.error`` element on the page."""
    selectors = '[data-testid="stException"], [data-testid="stAlertContentError"]'
    return [el.inner_text() for el in page.query_selector_all(selectors)]


@contextlib.contextmanager
def open_page(browser: object, url: str, viewport: dict[str, int]) -> Iterator[object]:
    """A tab of ``viewport`` (``{"width": ..., "height": ...}``) at ``url``, its script run, every
    element drawn and no error shown; closed afterwards, whatever the test did."""
    tab = browser.new_page(viewport=viewport)
    try:
        tab.goto(url)
        wait_for_script(tab)
        wait_for_drawn(tab)
        assert error_texts(tab) == []
        yield tab
    finally:
        tab.close()
