"""The app's pages in story order: the one list the sidebar, the home page, the tests and the
benchmarks read, so nobody writes a page's file name by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HOME", "PAGES", "Page", "page"]


@dataclass(frozen=True)
class Page:
    path: str  # script, relative to the repository root, as st.page_link and AppTest.switch_page take it
    label: str  # the sidebar's and the home page's name for it
    icon: str  # a Material icon, as st.page_link takes it

    @property
    def url_path(self) -> str:
        """Where Streamlit serves it: the file name minus its number ("" for the home page)."""
        if self.path == HOME.path:
            return ""
        return re.sub(r"^\d*[_ -]*", "", Path(self.path).stem)


HOME = Page("app.py", "Home", ":material/home:")

# Streamlit's own page list is hidden in .streamlit/config.toml because it would label the home
# page "app"; the numbers in pages/ only set the order of that hidden list and must follow this one.
PAGES: tuple[Page, ...] = (
    HOME,
    Page("pages/1_Architecture.py", "Architecture", ":material/account_tree:"),
    Page("pages/2_Train.py", "Train", ":material/monitoring:"),
    Page("pages/3_Why_it_works.py", "Why it works", ":material/lightbulb:"),
    Page("pages/4_Classify.py", "Classify", ":material/image_search:"),
    Page("pages/5_Grad-CAM.py", "Grad-CAM", ":material/local_fire_department:"),
    Page("pages/6_Fine-tune.py", "Fine-tune", ":material/model_training:"),
)


def page(label: str) -> Page:
    """The page called ``label`` ("Train"); a ``KeyError`` that lists the labels otherwise."""
    for p in PAGES:
        if p.label == label:
            return p
    raise KeyError(f"no page {label!r}; the pages are {', '.join(p.label for p in PAGES)}")
