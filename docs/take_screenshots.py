"""Screenshots for the README: docs/home.png, architecture.png, train.png, classify.png, gradcam.png, presenter.png.

    RESNET_DATA_DIR=../shared/data RESNET_SAMPLES_DIR=../shared/samples \\
        flock /tmp/cpu.lock .venv/bin/python docs/take_screenshots.py

Starts ``streamlit run app.py`` on a free port, drives Debian's Chromium with Playwright, and
saves each page as a palette PNG under 300 KB (the README is read on GitHub, often on phones).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from appserver import free_port, wait_healthy  # noqa: E402
from webui.pages import page  # noqa: E402
DOCS = ROOT / "docs"
LIMIT = 300_000  # bytes per screenshot
WIDTH = 1400  # browser viewport, CSS pixels

# (file, URL path, viewport height, texts to click in order, text to scroll to before the shot)
SHOTS: list[tuple[str, str, int, list[str], str | None]] = [
    ("home.png", page("Home").url_path, 900, [], None),
    ("architecture.png", page("Architecture").url_path, 2300, ["conv3_x (layer2)"], None),
    ("train.png", page("Train").url_path, 1500, [], None),
    ("classify.png", page("Classify").url_path, 2500, [], None),
    ("gradcam.png", page("Grad-CAM").url_path, 2300, [], None),
]

#: Presenter mode as a projector shows it: 1280x720 at 150 % zoom is an 853x480 CSS viewport at 1.5x.
PRESENTER = ("presenter.png", page("Train").url_path + "?present=1", {"width": 853, "height": 480}, 1.5)


def settle(page: object) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
    page.wait_for_timeout(2500)  # charts and graphviz mount after the script finishes


def small_png(png: bytes, limit: int = LIMIT) -> bytes:
    """The screenshot as it is if it fits ``limit`` bytes, else as a 256-colour PNG, scaled down if need be.

    Octree quantisation keeps the colour bars' gradients smooth, where median cut bands them.
    """
    image = Image.open(io.BytesIO(png)).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    scale = 1.0
    while buf.tell() > limit and scale > 0.3:
        sized = image if scale == 1.0 else image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        sized.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(buf, format="PNG", optimize=True)
        scale *= 0.85
    return buf.getvalue()


def main() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)  # one that never answers fails at the first page's wait for its title
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"])
            for name, path, height, clicks, _ in SHOTS:
                page = browser.new_page(viewport={"width": WIDTH, "height": height})
                page.goto(f"{url}/{path}")
                page.wait_for_selector("h1", timeout=120_000)
                settle(page)
                for text in clicks:
                    page.get_by_text(text).first.click()
                    settle(page)
                data = small_png(page.screenshot())
                (DOCS / name).write_bytes(data)
                print(f"docs/{name}: {len(data) / 1000:.0f} KB")
                page.close()
            name, path, viewport, scale = PRESENTER
            shot = browser.new_page(viewport=viewport, device_scale_factor=scale)
            shot.goto(f"{url}/{path}")
            shot.wait_for_selector("h1", timeout=120_000)
            settle(shot)
            data = small_png(shot.screenshot())
            (DOCS / name).write_bytes(data)
            print(f"docs/{name}: {len(data) / 1000:.0f} KB")
            shot.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
