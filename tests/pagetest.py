"""Helpers for driving the app's pages with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_app_page(page: str, timeout: float = 120) -> AppTest:
    """An AppTest of one page, entered through ``app.py`` as ``streamlit run app.py`` serves it.

    Running a page file directly would make it the entrypoint, and the sidebar's links to
    ``app.py`` and its siblings would not resolve. Call ``.run()`` on the result.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.switch_page(page)
    return at


def run_page(page: str, timeout: float = 120, **session: object) -> AppTest:
    """Run ``page`` once with ``session`` preset in its session state; it must raise nothing."""
    at = open_app_page(page, timeout)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
