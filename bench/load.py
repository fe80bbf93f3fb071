"""Many visitors at once against one server: peak memory, the slowest first content, and what stays.

Issue 19, goal 3. One ``streamlit run app.py``, driven by Chromium tabs (one browser context per
visitor, so each is its own Streamlit session):

1. **Baseline**: one visitor opens every page once and leaves; once that session is dropped and a
   later Home visit has run, the server's RSS is "idle, every page visited once".
2. **Load**: ``--sessions`` visitors arrive together in the issue's mix (of 10: 2 training, 3
   classifying a 6 MP upload, 2 on Why it works, 3 on Architecture). The trainers press Start with
   the page's defaults (the second finds the training slot taken, as on a shared server); the
   others keep reloading their page until the run ends. Reported: the peak RSS and the slowest
   time from a tab's first request to its page heading (first content).
3. **After**: every tab closes; the run expires (``RESNET_KEEP_S``), Streamlit drops the closed
   sessions (``server.disconnectedSessionTTL``) and one more Home visit runs. Reported: RSS then,
   against the baseline.

Usage (holds both cores for several minutes: run it alone on the machine)::

    python bench/load.py --data-dir /work/shared/data

It prints a table and, unless ``--no-append``, appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import MB, PAGES, AppServer, bench_parser, chromium, page, report, wait_for_script  # noqa: E402
from memory import DONE_JS, start_run  # noqa: E402

GOAL_PEAK_MB = 1300  # issue 19: 10 sessions peak at most 1.3 GB
GOAL_AFTER_MB = 100  # issue 19: after expiry at most the baseline + 100 MB
# The mix of ten, in the order visitors arrive; more or fewer sessions repeat or cut it.
MIX = [page(label).url_path for label in ("Train", "Classify", "Architecture", "Why it works", "Classify",
                                          "Architecture", "Train", "Classify", "Why it works", "Architecture")]
ALL_PAGES = [p.url_path for p in PAGES]
H1_JS = "() => !!document.querySelector('h1')"


@dataclass
class Visitor:
    """One browser context on one page: when it asked, when its heading first showed."""

    page_path: str
    context: Any
    tab: Any
    asked_at: float
    first_content_s: float | None = None
    notes: list[str] = field(default_factory=list)


def photo(path: Path, megapixels: float = 6.0) -> Path:
    """A phone-sized JPEG (about 3000 x 2000 for 6 MP) with texture, so it compresses like a photo."""
    import numpy as np
    from PIL import Image

    w = int((megapixels * 1e6 * 1.5) ** 0.5)
    h = int(megapixels * 1e6 / w)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=-1)
    noise = np.random.default_rng(0).normal(0, 12, (h, w, 1))
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=85)
    return path


def open_visitor(browser: Any, url: str, page_path: str) -> Visitor:
    """A new visitor (own context, own session) asking for ``page_path``; does not wait for it."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    asked = time.monotonic()
    tab.goto(f"{url}/{page_path}", wait_until="commit")
    return Visitor(page_path, context, tab, asked)


def wait_first_content(visitors: list[Visitor], timeout_s: float = 600) -> None:
    """Poll every tab until each shows its heading; record each one's time from request to heading."""
    deadline = time.monotonic() + timeout_s
    while any(v.first_content_s is None for v in visitors) and time.monotonic() < deadline:
        for v in visitors:
            if v.first_content_s is None and v.tab.evaluate(H1_JS):
                v.first_content_s = time.monotonic() - v.asked_at
        time.sleep(0.25)


def baseline(browser: Any, server: AppServer) -> int:
    """RSS with every page visited once by one visitor who then left (bytes)."""
    v = open_visitor(browser, server.url, "")
    wait_for_script(v.tab)
    for path in ALL_PAGES[1:]:
        v.tab.goto(f"{server.url}/{path}")
        wait_for_script(v.tab, 300)
    v.context.close()
    settle(browser, server)
    return server.rss()


def settle(browser: Any, server: AppServer, wait_s: float = 45) -> None:
    """Let closed sessions be dropped and results expire, then one Home visit runs the page-side release."""
    time.sleep(wait_s)
    late = open_visitor(browser, server.url, "")
    wait_for_script(late.tab)
    time.sleep(2)
    late.context.close()
    time.sleep(2)


def drive(visitors: list[Visitor], server_url: str, upload: Path, run_timeout_s: float) -> tuple[int, float]:
    """Each visitor does its page's thing; the browsers reload until the run ends. Returns (reloads, run s)."""
    trainers = [v for v in visitors if v.page_path == page("Train").url_path]
    for v in visitors:
        wait_for_script(v.tab, 600)
        if v.page_path == page("Classify").url_path:
            v.tab.get_by_text("Upload", exact=True).click()
            v.tab.wait_for_selector('input[type="file"]', state="attached", timeout=120_000)
            v.tab.locator('input[type="file"]').set_input_files(str(upload))
    t_run = time.monotonic()
    for i, v in enumerate(trainers):
        try:
            start_run(v.tab)
        except Exception as exc:  # noqa: BLE001 - the second trainer finds the slot taken
            busy = "The server is busy training" in v.tab.inner_text("body")
            v.notes.append(f"trainer {i + 1} could not start: {type(exc).__name__}; "
                           f"{'the page shows the busy message' if busy else 'no busy message on the page'}")
    reloads = 0
    browsing = [v for v in visitors if v.page_path in (page("Architecture").url_path, page("Why it works").url_path)]
    while trainers and not trainers[0].tab.evaluate(DONE_JS) and time.monotonic() - t_run < run_timeout_s:
        for v in browsing:
            v.tab.goto(f"{server_url}/{v.page_path}")
            wait_for_script(v.tab, 600)
            reloads += 1
        if not browsing:
            time.sleep(1)
    return reloads, time.monotonic() - t_run


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: the machine may be shared while this runs."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--sessions", type=int, default=10, help="visitors at once, in the issue's mix")
    parser.add_argument("--run-timeout", type=float, default=900, help="seconds to wait for the race")
    args = parser.parse_args()

    env = {"RESNET_KEEP_S": "30", "RESNET_ABANDON_S": "15"}
    if args.data_dir:
        env["RESNET_DATA_DIR"] = args.data_dir
    mix = [MIX[i % len(MIX)] for i in range(args.sessions)]
    notes = [f"mix: {', '.join(f'{mix.count(p)} {p}' for p in dict.fromkeys(mix))}", f"load average at the start: {load_average()}",
             # glibc reads it once, before the server's first thread: the A/B of issue 19's item 3.
             f"the server's MALLOC_ARENA_MAX: {os.environ.get('MALLOC_ARENA_MAX', 'unset (glibc: 8 arenas a core)')}"]
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser, \
            AppServer(env=env, extra_args=["--server.disconnectedSessionTTL", "10"]) as server:
        upload = photo(Path(tmp) / "photo_6mp.jpg")
        notes.append(f"upload: {upload.stat().st_size / MB:.1f} MB JPEG, 6 MP, one per classifying visitor")
        fresh = server.rss()
        base = baseline(browser, server)
        base_anon = server.anon()

        t0 = time.monotonic()
        visitors = [open_visitor(browser, server.url, p) for p in mix]
        wait_first_content(visitors)
        reloads, run_s = drive(visitors, server.url, upload, args.run_timeout)
        peak = server.peak_since(t0)
        peak_anon = server.peak_since(t0, anon=True)
        ended = server.rss()
        notes.append(f"the race ran {run_s:.0f} s; {reloads} reloads by the browsing visitors meanwhile")
        notes += [n for v in visitors for n in v.notes]
        slowest = max(visitors, key=lambda v: v.first_content_s or float("inf"))
        for v in visitors:
            v.context.close()
        settle(browser, server)
        after, after_anon = server.rss(), server.anon()
        notes.append(f"load average at the end: {load_average()}")

    first = slowest.first_content_s
    rows = [
        ("server started, no visitor", f"{fresh / MB:.0f} MB", "", ""),
        ("idle, every page visited once (baseline)", f"{base / MB:.0f} MB (anonymous {base_anon / MB:.0f})", "", ""),
        (f"{args.sessions} sessions: peak", f"{peak / MB:.0f} MB (anonymous {peak_anon / MB:.0f})",
         f"≤ {GOAL_PEAK_MB} MB", "yes" if peak / MB <= GOAL_PEAK_MB else "**no**"),
        (f"{args.sessions} sessions: slowest first content",
         "never" if first is None else f"{first:.0f} s ({slowest.page_path or 'Home'})", "", ""),
        ("the run ended, tabs open", f"{ended / MB:.0f} MB", "", ""),
        ("tabs closed, results expired, one Home visit",
         f"{after / MB:.0f} MB ({(after - base) / MB:+.0f}; anonymous {after_anon / MB:.0f})",
         f"≤ baseline + {GOAL_AFTER_MB} MB", "yes" if (after - base) / MB <= GOAL_AFTER_MB else "**no**"),
    ]
    table = ["| phase | server RSS | goal | met |", "|---|---:|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    report("bench/load.py", "## Many visitors at once",
           "Peak and left-over memory of one server under many Chromium visitors (`bench/load.py`, issue 19).",
           notes, table, append=not args.no_append)

if __name__ == "__main__":
    main()
