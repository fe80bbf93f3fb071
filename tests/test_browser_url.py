"""A view travels in its URL (issue 18, item 3): change one setting on each page, open the URL in a
new browser context (no cookies, no session), and the same setting shows.

Uses the running-app and Chromium fixtures of ``browsing.py`` (skips where those skip).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from browsing import PAGES, error_texts, wait_for_script

pytestmark = pytest.mark.browser

# page, (role, accessible name) of the setting to change, the parameter and value it writes
CHANGES = [
    ("Architecture", ("toggle", "Shortcut connections"), "plain", "1"),
    ("Train", ("radio", "Shallow vs deep"), "mode", "depth"),
    ("Why it works", ("radio", "3 · "), "exp", "lesion"),
    ("Grad-CAM", ("radio", "inferno"), "cmap", "inferno"),
    ("Fine-tune", ("radio", "The last stage too"), "mode", "last-stage"),
]


def params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def control(page: object, role: str, name: str) -> object:
    """The input of a radio option or of a toggle (Streamlit draws a toggle as a labelled checkbox input)."""
    if role == "toggle":
        return page.locator('[data-testid="stCheckbox"]').filter(has_text=name).locator("input").first
    return page.get_by_role(role, name=name).first


def checked(page: object, role: str, name: str) -> bool:
    box = control(page, role, name)
    box.wait_for(state="attached", timeout=60_000)
    return box.is_checked()


@pytest.mark.parametrize(("label", "setting", "param", "value"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_changed_setting_opens_again_from_its_url(app_url: str, browser: object, label: str,
                                                   setting: tuple[str, str], param: str,
                                                   value: str) -> None:
    first = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = first.new_page()
    page.goto(f"{app_url}/{PAGES[label]}")
    wait_for_script(page, 120)
    role, name = setting
    was = checked(page, role, name)
    control(page, role, name).click(force=True)
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('{param}') === '{value}'",
                           timeout=60_000)
    wait_for_script(page, 120)
    link = page.url
    first.close()

    second = browser.new_context(viewport={"width": 1400, "height": 1600})  # a new browser: only the URL
    try:
        again = second.new_page()
        again.goto(link)
        wait_for_script(again, 120)
        assert checked(again, role, name) is (not was), f"{label}: {name} not as in {link}"
        assert params(again.url)[param] == value
        assert error_texts(again) == []
    finally:
        second.close()


def test_the_gallery_picture_opens_again_from_its_url(app_url: str, browser: object) -> None:
    """Classify: pick another gallery picture; a new browser on the URL shows that picture."""
    picture = "Gallery: dog_beagle.jpg"
    first = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = first.new_page()
    page.goto(f"{app_url}/{PAGES['Classify']}")
    wait_for_script(page, 120)
    sample = page.locator('[data-testid="stSelectbox"]').filter(has_text="Sample")
    sample.click()
    page.get_by_role("option", name=picture).click()
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('pic') === '{picture}'", timeout=60_000)
    link = page.url
    first.close()

    second = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        again = second.new_page()
        again.goto(link)
        wait_for_script(again, 120)
        again.wait_for_selector("text=What the model receives", timeout=60_000)
        # The picture's caption names it (the selectbox keeps its value in an input, not in its text).
        assert f"{picture} (" in again.inner_text('[data-testid="stMain"]')
        assert params(again.url)["pic"] == picture
        assert error_texts(again) == []
    finally:
        second.close()
