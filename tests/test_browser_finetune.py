"""The Fine-tune page in headless Chromium: add two classes, upload pictures, train, see results,
and see them again after a reload.

Uses the live server and browser of ``browsing.py``; the screenshot of the finished page
lands in ``test-results/screenshots/Fine-tune-result.png``.
"""

from __future__ import annotations

import pytest
from pictures import shape_files
from browsing import PAGES, SHOTS, error_texts, wait_for_drawn, wait_for_script

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_two_classes_uploaded_trained_and_explained(app_url: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 3000})
    try:
        page.goto(f"{app_url}/{PAGES['Fine-tune']}")
        wait_for_script(page)
        for name, files in shape_files(per_class=6).items():
            page.get_by_label("New class").fill(name)
            page.get_by_role("button", name="Add class").click()
            uploader = page.locator('[data-testid="stFileUploader"]', has_text=f"Add pictures of {name}")
            uploader.locator('input[type="file"]').set_input_files(
                [{"name": n, "mimeType": "image/png", "buffer": data} for n, data in files]
            )
            page.get_by_text(f"{name} · 6 pictures").wait_for(timeout=60_000)
        wait_for_script(page)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text("Held-out accuracy", exact=True).wait_for(timeout=90_000)
        wait_for_script(page)
        # Training history and confusion matrix, drawn (they mount after the script ends).
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data).length >= 2",
                               timeout=30_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        wait_for_drawn(page)
        page.screenshot(path=str(SHOTS / "Fine-tune-result.png"), full_page=True)
        assert error_texts(page) == []
        assert page.locator(".js-plotly-plot").count() >= 2  # training history and confusion matrix
        assert page.get_by_text("Available on the Classify and Grad-CAM pages").count() == 1
        assert page.get_by_role("button", name="Download model").count() == 1
        # F5: a new session finds the finished run by the URL's run id (issue #20).
        run_id = page.url.split("run=")[1].split("&")[0]
        assert len(run_id) == 32
        page.reload()
        wait_for_script(page)
        assert f"run={run_id}" in page.url
        page.get_by_text("Held-out accuracy", exact=True).wait_for(timeout=30_000)
        assert page.get_by_role("button", name="Download model").count() == 1
        assert error_texts(page) == []
    finally:
        page.close()
