"""The home page through Streamlit's AppTest: it renders, links every page and reports the machine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pagetest import diagrams
from streamlit.testing.v1 import AppTest

from resnet_core.settings import DATA_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]


def run_home() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    return at.run()


def test_home_renders_and_links_every_page() -> None:
    at = run_home()
    assert not at.exception
    assert "ResNet" in at.title[0].value
    # Streamlit serves pages/N_Name.py at /Name.
    url_names = {re.sub(r"^\d+_", "", p.stem) for p in (ROOT / "pages").glob("*.py")}
    assert len(url_names) == 6  # Architecture, Train, Why it works, Classify, Grad-CAM, Fine-tune
    linked = {link.proto.page for link in at.get("page_link")}
    assert url_names <= linked


def test_sidebar_reports_missing_cifar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))  # an empty directory: no CIFAR-10 there
    monkeypatch.setenv("RESNET_CACHE_DIR", str(tmp_path / "cache"))
    at = run_home()
    sidebar = " ".join(md.value for md in at.sidebar.markdown)
    assert "CIFAR-10:** not found" in sidebar


def test_sidebar_reports_found_cifar(cifar10_dir: Path) -> None:
    at = run_home()
    sidebar = " ".join(md.value for md in at.sidebar.markdown)
    assert str(cifar10_dir) in sidebar


def test_home_shows_the_shortcut_and_where_to_start() -> None:
    at = run_home()
    assert not at.get("graphviz_chart")  # shipped pictures: the first screen needs no layout in the browser
    blocks = diagrams(at, "block")
    assert len(blocks) == 2  # the residual block and its plain twin, side by side
    residual, plain = blocks
    assert "Residual basic block · layer1.0" in residual and "x -> add" in residual and "3x3 conv, 16" in residual
    assert "Plain basic block · layer1.0" in plain and "x -> add" not in plain
    start = at.main.get("page_link")[0].proto
    assert (start.label, start.page) == ("Start here: Architecture", "Architecture")
