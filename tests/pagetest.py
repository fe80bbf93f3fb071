"""Helpers for driving the app's pages with Streamlit's AppTest."""

from __future__ import annotations

import base64
import functools
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
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


def wait_for(at: AppTest, done: Callable[[AppTest], object], timeout: float = 60.0) -> AppTest:
    """Rerun the page until ``done(at)`` holds, as a fragment's timer would (AppTest fires none)."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert not at.exception, [e.value for e in at.exception]
        assert time.monotonic() < deadline, f"the page did not get there: {[m.value for m in at.markdown][-3:]}"
        time.sleep(0.2)
        at.run()
    return at


def charts(at: AppTest) -> list[dict]:
    """Every Plotly chart on the page, as the figure dict the browser gets."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@functools.lru_cache(maxsize=1)
def _shipped_sources() -> dict[str, str]:
    """{shipped SVG: its DOT source}, for every diagram of every registered variant at every font size."""
    from resnet_core.diagram_file import registered_dots, shipped_svg

    return {svg: dot for dot in registered_dots() if (svg := shipped_svg(dot)) is not None}


def shipped_pictures(at: AppTest) -> list[str]:
    """The DOT sources of the diagrams drawn as shipped SVG pictures (``webui.diagram``), in page order."""
    prefix = "data:image/svg+xml;base64,"
    svgs = [base64.b64decode(img.url[len(prefix):]).decode() for el in at.get("image") for img in el.proto.imgs
            if img.url.startswith(prefix)]
    return [_shipped_sources()[svg] for svg in svgs if svg in _shipped_sources()]


def diagrams(at: AppTest, kind: str | None = None) -> list[str]:
    """DOT sources of the page's diagrams, of one kind ("block", "stage", "network") or all.

    The shipped pictures first, then any chart laid out in the browser (a diagram missing from
    ``resnet_core/reference/diagrams.json``).
    """
    drawn = shipped_pictures(at) + [c.proto.spec for c in at.get("graphviz_chart")]
    return [dot for dot in drawn if kind is None or dot.startswith(f"digraph {kind} ")]


def png(size: tuple[int, int] = (60, 40), colour: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    """A one-colour PNG, as an upload."""
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def nothing_configured(monkeypatch: object, tmp_path: Path) -> None:
    """As on a fresh install, offline: no sample photos, no CIFAR-10, an empty cache (only the gallery)."""
    monkeypatch.delenv("RESNET_SAMPLES_DIR", raising=False)
    monkeypatch.setenv("RESNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RESNET_CACHE_DIR", str(tmp_path))


def plotly_array(value: object) -> "np.ndarray":
    """A trace's array as sent to the browser: plotly writes numpy arrays as base64 with dtype and shape."""
    import numpy as np

    if isinstance(value, dict):
        shape = tuple(int(n) for n in value["shape"].split(","))
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)


def chart_image(at: AppTest) -> "np.ndarray":
    """The pixels of the one picture drawn in the page's Plotly charts (an ``Image`` trace), as HxWx3."""
    (trace,) = [t for chart in charts(at) for t in chart["data"] if t["type"] == "image"]
    return plotly_array(trace["z"])
