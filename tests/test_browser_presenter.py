"""Presenter mode in a real browser: chart text a projector can show, the sidebar out of the way."""

from __future__ import annotations

import pytest
from browsing import PAGES, SHOTS, open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Font sizes (px) Plotly gave the x-axis tick labels of every chart on the page.
TICK_SIZES = """() => [...document.querySelectorAll('.js-plotly-plot .xtick text')]
    .map(t => parseFloat(getComputedStyle(t).fontSize))"""


def test_presenter_mode_draws_chart_ticks_at_16_px_or_more(app_url: str, browser: object) -> None:
    with open_page(browser, f"{app_url}/{PAGES['Architecture']}?present=1", {"width": 1280, "height": 720}) as tab:
        tab.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
        tab.wait_for_function(f"() => ({TICK_SIZES})().length > 0", timeout=30_000)
        sizes = tab.evaluate(TICK_SIZES)
        assert min(sizes) >= 16, sizes
        # The sidebar starts collapsed: the page has the whole width.
        main = tab.locator('[data-testid="stMain"]').bounding_box()
        assert main["x"] < 10 and main["width"] > 1200, main
        assert tab.get_by_role("button", name="Next: Train").count() == 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS / "Architecture-presenter.png"))
