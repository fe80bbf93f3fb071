"""The running app in a real headless browser: every page renders with no error shown.

Drives Debian's Chromium with Playwright against a live ``streamlit run app.py`` (the fixtures
in ``tests/browsing.py``). Screenshots land in ``test-results/screenshots/`` for people to look at.
"""

from __future__ import annotations

import pytest
from browsing import PAGES, SHOTS, error_texts, open_page, wait_for_drawn, wait_for_script

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_without_errors(app_url: str, browser: object, name: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    try:
        page.goto(f"{app_url}/{PAGES[name]}")
        wait_for_script(page)
        # Late elements mount after the script ends: the screenshot, and the error check, wait for them.
        wait_for_drawn(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        assert error_texts(page) == []
        # The sidebar links to every page, so no page is a dead end (a timeout: a link is missing).
        page.wait_for_function(
            "labels => { const s = document.querySelector('[data-testid=\"stSidebar\"]');"
            " return s && labels.every(l => s.innerText.includes(l)); }",
            arg=list(PAGES), timeout=30_000,
        )
    finally:
        page.close()


# Every chart's toolbar box, on screen: zero-sized where it is hidden.
MODEBARS = """() => [...document.querySelectorAll('.js-plotly-plot .modebar-container')]
    .map(m => m.getBoundingClientRect()).map(r => r.width * r.height)"""


@pytest.mark.parametrize("name", ["Home", "Architecture", "Train", "Why it works"])
def test_no_story_page_overflows_a_phone_and_no_toolbar_covers_a_chart(app_url: str, browser: object,
                                                                        name: str) -> None:
    with open_page(browser, f"{app_url}/{PAGES[name]}", {"width": 390, "height": 844}) as tab:
        width = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{name} is {width[0]} px wide in a {width[1]} px window"
        charts = tab.locator(".js-plotly-plot")
        if charts.count():
            charts.first.scroll_into_view_if_needed()
            charts.first.hover()  # Plotly shows its toolbar on hover: on a phone it would cover the top labels
            assert all(area == 0 for area in tab.evaluate(MODEBARS))
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS / f"{name}-390px.png"))


# The "<network> train (live)" curves of the first Plotly chart (the race's error chart), as
# {name: points}, or null until all three have more than `least` points (a number, or the
# {name: points} of an earlier snapshot). The snapshot is the value of the wait itself: the live
# fragment redraws the chart every second, and a separate read after the wait could land
# mid-redraw and see fewer curves (the old test then waited for curves it had never recorded).
TRAIN_POINTS = """least => {
    const plot = document.querySelector('.js-plotly-plot');
    const out = {};
    for (const t of (plot && plot.data) || []) {
        if (t.name && t.name.endsWith(' train (live)')) out[t.name] = t.x.length;
    }
    const floor = name => typeof least === 'number' ? least : (least[name] ?? Infinity);
    const names = Object.keys(out);
    return names.length === 3 && names.every(k => out[k] > floor(k)) ? out : null;
}"""


# "Run it live" in race mode, "Start" for one network.
START_ENABLED = ("() => [...document.querySelectorAll('button')].some("
                 "b => ['Start', 'Run it live'].includes(b.innerText.trim()) && !b.disabled)")


def start_synthetic_race(page: object, app_url: str) -> None:
    """Open the Train page, choose synthetic shapes and start the default race."""
    page.goto(f"{app_url}/{PAGES['Train']}")
    wait_for_script(page)
    page.get_by_text("Synthetic shapes", exact=True).click()
    wait_for_script(page)
    page.wait_for_function(START_ENABLED, timeout=60_000)
    page.get_by_role("button", name="Run it live", exact=True).click()


def test_the_race_curves_all_grow_live(app_url: str, browser: object) -> None:
    """Start the default race (on synthetic shapes) and watch all three training curves grow."""
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    try:
        start_synthetic_race(page, app_url)
        first = page.wait_for_function(TRAIN_POINTS, arg=1, timeout=120_000, polling=250).json_value()
        later = page.wait_for_function(TRAIN_POINTS, arg=first, timeout=60_000, polling=250).json_value()
        wait_for_drawn(page)
        page.screenshot(path=str(SHOTS / "Train-race.png"), full_page=True)
        assert set(later) == {"plain-20 train (live)", "plain-56 train (live)", "ResNet-56 train (live)"}
        assert all(later[k] > first[k] for k in later), (first, later)
        assert error_texts(page) == []
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function(START_ENABLED, timeout=60_000)
    finally:
        page.close()


def _chart_count(page: object) -> int:
    return page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                         ".filter(p => p.data && p.data.length).length")


def test_why_it_works_runs_each_experiment(app_url: str, browser: object) -> None:
    """Gradient flow and shattered gradients draw plain and residual side by side; the trained-net
    experiments draw theirs, or say which shipped files are missing."""
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    try:
        page.goto(f"{app_url}/{PAGES['Why it works']}")
        wait_for_script(page, timeout_s=120)
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= 2",
                               timeout=120_000)
        wait_for_drawn(page)
        page.screenshot(path=str(SHOTS / "Why-gradient-flow.png"), full_page=True)
        assert _chart_count(page) == 2 and "they grow" in page.inner_text("body")
        for label, shot, charts, heading in (("2 · Shattered gradients", "Why-shattered", 3, "Shattered gradients"),
                                             ("3 · Lesion study", "Why-lesion", 3, "Lesion study"),
                                             ("4 · Layer responses", "Why-responses", 2, "Layer responses"),
                                             ("5 · Loss landscape", "Why-landscape", 2, "Loss landscape")):
            page.get_by_text(label, exact=True).click()
            # Done when this experiment's heading is up, the script has ended (stale elements of the
            # previous experiment are gone then) and its charts are drawn, or it says what is missing.
            page.wait_for_function(
                "([heading, charts]) => [...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(heading))"
                " && document.querySelector('[data-testid=\"stApp\"][data-test-script-state=\"notRunning\"]')"
                " && (Array.from(document.querySelectorAll('.js-plotly-plot')).filter(p => p.data && p.data.length)"
                ".length === charts || document.body.innerText.includes('not all in this install'))",
                arg=[heading, charts], timeout=120_000, polling=200,
            )
            wait_for_drawn(page)
            page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
            assert error_texts(page) == []
            missing = "not all in this install" in page.inner_text("body")
            assert _chart_count(page) == charts or (missing and not label.startswith("2")), label
    finally:
        page.close()


@pytest.mark.parametrize("name", ["Classify", "Grad-CAM"])
def test_first_view_shows_a_prediction_for_the_gallery_photo(app_url: str, browser: object, name: str) -> None:
    """No setting, no click: the preselected gallery photo is classified (and explained) at once."""
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    try:
        page.goto(f"{app_url}/{PAGES[name]}")
        wait_for_script(page, timeout_s=120)
        expected = "Top guess: cat" if name == "Classify" else "for “cat”"  # Grad-CAM's heading
        page.wait_for_function(f"() => document.body.innerText.includes({expected!r})", timeout=60_000)
        # The sample picker's value: the gallery photo, chosen with no click.
        page.wait_for_function("() => [...document.querySelectorAll('input')]"
                               ".some(i => i.value === 'Gallery: cat_chelsea.jpg')", timeout=30_000)
        if name == "Grad-CAM":
            page.wait_for_selector(".js-plotly-plot", timeout=30_000)  # the heatmap overlay
        wait_for_drawn(page)
        assert error_texts(page) == []
        page.screenshot(path=str(SHOTS / f"{name}-first-view.png"), full_page=True)
    finally:
        page.close()


def test_a_reload_reconnects_to_the_running_training(app_url: str, browser: object) -> None:
    """F5 during a race: the URL's run id brings the same run back, with its Stop button."""
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    try:
        start_synthetic_race(page, app_url)
        page.wait_for_selector('button:has-text("Stop"):not([disabled])', timeout=60_000)
        run_id = page.url.split("run=")[1].split("&")[0]
        assert len(run_id) == 32
        page.reload()
        wait_for_script(page)
        assert f"run={run_id}" in page.url
        # The reloaded tab is a new Streamlit session: it finds the run by the URL alone.
        page.wait_for_selector('button:has-text("Stop"):not([disabled])', timeout=30_000)
        page.wait_for_selector('[data-testid="stMetric"]:has-text("Steps per network")', timeout=60_000)
        wait_for_drawn(page)
        page.screenshot(path=str(SHOTS / "Train-after-reload.png"), full_page=True)
        assert error_texts(page) == []
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function(START_ENABLED, timeout=60_000)
    finally:
        page.close()
