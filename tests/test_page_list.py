"""One list of pages (``webui.pages.PAGES``): the files in pages/, the sidebar and the home page's cards agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from webui.pages import HOME, PAGES, page

ROOT = Path(__file__).resolve().parents[1]


def test_every_page_file_is_listed_once_numbered_1_to_n_in_story_order() -> None:
    files = sorted((ROOT / "pages").glob("*.py"))
    listed = [p.path for p in PAGES[1:]]
    assert PAGES[0] == HOME and HOME.path == "app.py"
    assert sorted(listed) == sorted(f"pages/{f.name}" for f in files) and len(set(listed)) == len(listed)
    numbers = [int(re.match(r"(\d+)_", Path(path).name).group(1)) for path in listed]
    assert numbers == list(range(1, len(files) + 1))  # unique, no gaps, and PAGES lists them in that order
    assert [p.label for p in PAGES] == ["Home", "Architecture", "Train", "Why it works", "Classify", "Grad-CAM",
                                        "Fine-tune"]


def test_url_paths_are_what_streamlit_serves() -> None:
    assert [p.url_path for p in PAGES] == ["", "Architecture", "Train", "Why_it_works", "Classify", "Grad-CAM",
                                           "Fine-tune"]
    assert page("Why it works").path == "pages/3_Why_it_works.py"
    with pytest.raises(KeyError, match="Fine-tune"):  # the message lists the labels
        page("Finetune")


def test_the_sidebar_and_the_home_cards_link_the_pages_in_order() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception
    sidebar = [(link.proto.page, link.proto.label, link.proto.icon) for link in at.sidebar.get("page_link")]
    main = [(link.proto.page, link.proto.label, link.proto.icon) for link in at.main.get("page_link")]
    # Around the cards: "Start here" first and "Next" last, both to the story's first page.
    assert [label for _, label, _ in (main[0], main[-1])] == ["Start here: Architecture", "Next: Architecture"]
    cards = main[1:-1]
    # Streamlit resolves each link to the page's URL path; the home page's is its script's name.
    assert [(path or "app", label, icon) for path, label, icon in sidebar] == [
        (p.url_path or "app", p.label, p.icon) for p in PAGES]
    assert cards == [(p.url_path, f"**{p.label}**", p.icon) for p in PAGES[1:]]
