"""A file the uploader refuses in the browser replaces our error about the previous file (issue #19, item 7).

Streamlit's uploader refuses a file over ``server.maxUploadSize`` before it leaves the browser:
no rerun, so only ``webui.uploads``' CSS can take our old message away. Classify on a phone-sized
window, against the live app and Chromium of ``browsing.py``.
"""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
from browsing import PAGES, ROOT, SHOTS, open_page
from PIL import Image
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REFUSED_CHIP = '[data-testid="stFileChip"][aria-invalid="true"]'


def our_error(tab: object, name: str) -> object:
    """The page's own ``st.error`` about the file ``name``."""
    return tab.locator('[data-testid="stAlertContentError"]', has_text=f"{name}:")


def test_a_file_the_uploader_refuses_replaces_the_error_about_the_previous_one(
    app_url: str, browser: object, tmp_path: Path
) -> None:
    limit_mb = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    broken, broken2, good = tmp_path / "broken.jpg", tmp_path / "broken2.png", tmp_path / "good.png"
    broken.write_bytes(b"not a photo" * 10)
    broken2.write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 20)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 40, 200)).save(buffer, format="PNG")
    good.write_bytes(buffer.getvalue())
    bigs = [tmp_path / "big.jpg", tmp_path / "big2.jpg"]  # two names: the same file again fires no change
    for big in bigs:
        big.write_bytes(b"\xff\xd8" + bytes((limit_mb + 1) * 2**20))

    with open_page(browser, f"{app_url}/{PAGES['Classify']}", {"width": 390, "height": 844}) as tab:
        tab.get_by_text("Upload", exact=True).click()
        files = tab.locator('[data-testid="stFileUploaderDropzoneInput"]')
        files.set_input_files(broken)
        expect(our_error(tab, "broken.jpg")).to_be_visible(timeout=60_000)

        files.set_input_files(bigs[0])
        refused = tab.locator(REFUSED_CHIP)
        expect(refused).to_be_visible()
        expect(refused).to_contain_text(f"File must be {limit_mb:.1f}MB or smaller")
        expect(our_error(tab, "broken.jpg")).to_be_hidden()
        width = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"Classify is {width[0]} px wide in a {width[1]} px window"
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS / "Classify-refused-upload-390px.png"))

        # Removing the refused file leaves broken.jpg in the uploader: its error is true again.
        tab.get_by_label("Remove big.jpg").click()
        expect(our_error(tab, "broken.jpg")).to_be_visible()

        # An old refusal still listed does not hide the error about a newer file.
        files.set_input_files(bigs[1])
        expect(our_error(tab, "broken.jpg")).to_be_hidden()
        files.set_input_files(broken2)
        expect(our_error(tab, "broken2.png")).to_be_visible(timeout=60_000)
        expect(refused).to_be_visible()

        files.set_input_files(good)
        expect(tab.get_by_text("What the model receives", exact=False)).to_be_visible(timeout=60_000)
        expect(tab.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
