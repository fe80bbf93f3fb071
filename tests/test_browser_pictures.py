"""Issue 12's pictures in a real browser: the whole-network view, the model's input, feature maps, heatmaps.

Uses the running-app and Chromium fixtures of ``browsing.py`` (skips where those skip) and
saves a screenshot of each view in ``test-results/screenshots/`` for people to look at.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from browsing import DIAGRAM_TEXT, DIAGRAMS, PAGES, SHOTS, error_texts, wait_for_drawn, wait_for_script

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def opened(browser: object, url: str, height: int = 2600) -> Iterator[object]:
    """A page at ``url`` once its script has run; closed afterwards, whatever the test did."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    try:
        page.goto(url)
        wait_for_script(page)
        yield page
    finally:
        page.close()


def shot_without_errors(page: object, name: str) -> None:
    """Once the page is drawn, save it as ``name`` under SHOTS and assert it shows no error."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    wait_for_drawn(page)
    page.screenshot(path=str(SHOTS / name))
    assert error_texts(page) == []


def diagram_count(page: object) -> int:
    """Diagrams on the page: shipped SVG pictures and any Graphviz chart laid out in the browser."""
    return page.evaluate(f"() => {DIAGRAMS}.length")


def test_whole_network_view_and_a_stage_open(app_url: str, browser: object) -> None:
    with opened(browser, f"{app_url}/{PAGES['Architecture']}") as page:
        page.wait_for_function(f"() => {DIAGRAMS}.length > 0", timeout=60_000)
        page.get_by_text("conv3_x (layer2)").first.click()
        # The opened stage's diagram is drawn (a timeout: opening the stage draws nothing). Its title:
        # the block diagrams also name layer2.0, and are there before the click.
        page.wait_for_function(f"() => ({DIAGRAM_TEXT})().includes('conv3_x (layer2)')", timeout=30_000)
        wait_for_drawn(page)
        svg_text = page.evaluate(DIAGRAM_TEXT)
        # The overview, the opened stage and the variant's blocks are drawn, with the shapes and shortcuts.
        assert "conv5_x: 2 basic blocks" in svg_text and "512 x 7 x 7" in svg_text
        assert "layer2.0" in svg_text and "1x1 conv, 128, stride 2, BN" in svg_text
        assert diagram_count(page) == 4  # two blocks, the whole network, the one open stage
        # The cost-against-error chart and hatched plain-twin bars are on the page.
        page.get_by_text("What the extra layers bought").scroll_into_view_if_needed()
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= 4",
                               timeout=30_000)
        assert page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length") == 4
        shot_without_errors(page, "Architecture-network.png")


def test_classify_shows_the_input_tensor_and_every_stage(app_url: str, browser: object) -> None:
    with opened(browser, f"{app_url}/{PAGES['Classify']}", height=3000) as page:
        page.wait_for_selector("text=What the model receives", timeout=60_000)
        page.wait_for_selector("text=What each stage sees", timeout=60_000)
        # The picture picker's radio can still be a loading skeleton here (CI once counted 0 "Camera").
        wait_for_drawn(page)
        captions = page.inner_text('[data-testid="stMain"]')
        assert "It must choose." in captions and "Why this confidence." in captions
        assert "layer3: output" in captions  # the last stage's feature maps
        assert page.get_by_text("Camera", exact=True).count() == 1
        shot_without_errors(page, "Classify-stages.png")


def test_gradcam_colour_bar_colour_maps_and_shared_scale(app_url: str, browser: object) -> None:
    with opened(browser, f"{app_url}/{PAGES['Grad-CAM']}", height=2800) as page:
        page.wait_for_selector(".js-plotly-plot .colorbar", timeout=60_000)

        def first_colour() -> str:
            return page.evaluate(
                "() => { const p = document.querySelector('.js-plotly-plot');"
                " return p.data.find(t => t.type === 'heatmap').colorscale[0][1]; }"
            )

        assert first_colour() == "rgb(68,1,84)"  # viridis by default
        page.get_by_text("jet (as in the papers)").click()
        wait_for_script(page)
        page.wait_for_function(
            "() => { const p = document.querySelector('.js-plotly-plot');"
            " return p && p.data && p.data.find(t => t.type === 'heatmap').colorscale[0][1] === 'rgb(0,0,128)'; }",
            timeout=60_000,
        )
        page.get_by_text("viridis", exact=True).click()
        wait_for_script(page)
        page.get_by_text("one scale for all classes", exact=True).click()
        wait_for_script(page)
        page.wait_for_selector("text=shared scale", timeout=60_000)
        shot_without_errors(page, "Grad-CAM-shared.png")


def upload_input(page: object) -> object:
    """The picture picker's file input (switched to "Upload" first)."""
    page.get_by_text("Upload", exact=True).click()
    wait_for_script(page)
    page.wait_for_selector('[data-testid="stFileUploaderDropzoneInput"]', state="attached", timeout=60_000)
    return page.locator('[data-testid="stFileUploaderDropzoneInput"]')


def test_a_picture_uploaded_on_classify_is_the_one_grad_cam_opens_with(app_url: str, browser: object) -> None:
    """Issue 18, item 7, with a real upload and the sidebar's link (a page switch in the same session)."""
    from pagetest import png

    with opened(browser, f"{app_url}/{PAGES['Classify']}", height=1600) as page:
        upload_input(page).set_input_files([{"name": "violet.png", "mimeType": "image/png",
                                             "buffer": png((90, 60), (200, 40, 160))}])
        page.wait_for_selector("text=violet.png (90x60)", timeout=60_000)
        assert "pic=" not in page.url  # an upload has no address
        page.locator('[data-testid="stSidebar"]').get_by_role("link", name="Grad-CAM").click()
        page.wait_for_selector(".js-plotly-plot .colorbar", timeout=60_000)
        wait_for_script(page)
        wait_for_drawn(page)
        assert page.get_by_text("Showing “violet.png”", exact=False).count() == 1
        assert page.get_by_text("Gallery: ", exact=False).count() == 0  # not the gallery's default picture
        assert error_texts(page) == []


@pytest.mark.parametrize("label", ["Classify", "Grad-CAM", "Fine-tune"])
def test_the_picture_pages_fit_a_phone(app_url: str, browser: object, label: str) -> None:
    """At 390 px nothing is wider than the screen (Classify's feature-map rows once were 613 px)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/{PAGES[label]}")
        wait_for_script(page)
        wait_for_drawn(page)
        width, screen = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        wide = page.evaluate("() => [...document.querySelectorAll('[data-testid=\"stMain\"] *')]"
                             ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length")
        assert width <= screen and wide == 0, (width, screen, wide)
    finally:
        context.close()
