"""How soon a visitor sees each page, in Chromium: cold server, first views, warm views.

- **Home, cold server**: a freshly started ``streamlit run app.py``, the first request ever:
  time from navigation to the title on screen (first paint) and to the script's end.
- **Every page, first view**: on that server, each page opened in a new tab once (imports and
  caches filled), to the script's end.
- **Every page, warm view**: in one open tab, a click on the page's sidebar link, as a visitor
  moves around the app: time to the page's title and to the script's end (median of repeats).
- **Architecture, Classify and Grad-CAM, each on its own cold server**: the first request is
  that page (the worst case for a visitor arriving by a deep link). For Classify and Grad-CAM the
  clock stops when the preselected gallery photo's prediction is on screen.
- **Baseline**: a one-line Streamlit script (``st.title``) on a cold server, same browser:
  what Streamlit and Chromium cost before any of our code runs. Ratios are against it.

Usage (run under the shared lock; ~2 minutes)::

    flock /tmp/cpu.lock python bench/first_view.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import ROOT, AppServer, append_results, chromium, machine, page, torch_version, wait_for_script  # noqa: E402

PAGES = {label: page(label).url_path for label in ("Home", "Architecture", "Train", "Classify", "Grad-CAM")}
TITLES = {"Home": "ResNet, explained", "Architecture": "Architecture", "Train": "Train a ResNet",
          "Classify": "Classify", "Grad-CAM": "Grad-CAM"}  # the start of each page's h1
LIMITS_S = {"Home cold first paint": 4.0, "warm view": 1.5}
PREDICTION = "() => /Top guess|for “/.test(document.body.innerText)"  # Classify's line; Grad-CAM's heading


def timed_view(browser, url: str, until_prediction: bool = False) -> tuple[float, float]:
    """Seconds from navigation to the first title on screen, and to the script's end (or prediction)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector("h1", timeout=180_000)
        paint = time.perf_counter() - t0
        if until_prediction:
            page.wait_for_function(PREDICTION, timeout=180_000, polling=100)
        wait_for_script(page, 180)
        return paint, time.perf_counter() - t0
    finally:
        page.close()


def navigate(page, label: str) -> tuple[float, float]:
    """Click the sidebar link to ``label``: seconds to its title, and to the script's end."""
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=label, exact=True).click()
    title = TITLES[label]
    page.wait_for_function(
        f"() => {{ const h = document.querySelector('h1'); return h && h.innerText.trim().startsWith({title!r}); }}",
        timeout=180_000, polling=20,
    )
    paint = time.perf_counter() - t0
    if label in ("Classify", "Grad-CAM"):
        page.wait_for_function(PREDICTION, timeout=180_000, polling=20)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)
    return paint, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warm-repeats", type=int, default=3, help="warm views per page (median reported)")
    parser.add_argument("--no-append", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()
    rows: list[tuple[str, float, float, float | None]] = []  # (what, first paint s, done s, limit)

    with chromium() as browser:
        baseline_script = ROOT / "test-results" / "bench_baseline_app.py"
        baseline_script.parent.mkdir(exist_ok=True)
        baseline_script.write_text('import streamlit as st\n\nst.title("Baseline")\n')
        with AppServer(script=str(baseline_script)) as server:
            base_paint, base_done = timed_view(browser, server.url)
        rows.append(("baseline: one-line Streamlit script, cold server", base_paint, base_done, None))

        with AppServer() as server:
            paint, done = timed_view(browser, server.url)
            rows.append(("Home, cold server", paint, done, LIMITS_S["Home cold first paint"]))
            for name, path in PAGES.items():
                paint, done = timed_view(browser, f"{server.url}/{path}", until_prediction=name in ("Classify", "Grad-CAM"))
                rows.append((f"{name}, first view (server already up)", paint, done, None))
            tab = browser.new_page(viewport={"width": 1400, "height": 1600})
            tab.goto(server.url)
            wait_for_script(tab)
            views: dict[str, list[tuple[float, float]]] = {name: [] for name in PAGES}
            order = [*list(PAGES)[1:], "Home"]  # from Home round the sidebar and back
            for _ in range(args.warm_repeats):
                for name in order:
                    views[name].append(navigate(tab, name))
            tab.close()
            for name, v in views.items():
                rows.append((f"{name}, warm view: sidebar link (median of {args.warm_repeats})",
                             statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
                             LIMITS_S["warm view"]))

        for name in ("Architecture", "Classify", "Grad-CAM"):
            with AppServer() as server:
                paint, done = timed_view(browser, f"{server.url}/{PAGES[name]}", until_prediction=name != "Architecture")
            rows.append((f"{name}, cold server, first request", paint, done, None))

    table = ["| view | first title (s) | complete (s) | complete / baseline | limit (s) | within |",
             "|---|---:|---:|---:|---:|---|"]
    for what, paint, done, limit in rows:
        judged = paint if "cold server" in what and what.startswith("Home") else done
        ok = "" if limit is None else ("yes" if judged <= limit else "**no**")
        table.append(f"| {what} | {paint:.2f} | {done:.2f} | {done / base_done:.1f}x | {'' if limit is None else limit} | {ok} |")
    print("\n".join(table))
    if args.no_append:
        return
    command = "flock /tmp/cpu.lock python " + " ".join(shlex.quote(a) for a in ["bench/first_view.py", *sys.argv[1:]])
    entry = (f"\n### {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n- Machine: {machine()}; torch {torch_version()}\n"
             f"- Command: `{command}`\n- Home's limit applies to its first title; warm views' to the complete page.\n\n"
             + "\n".join(table) + "\n")
    results = append_results("## First views", "Seconds until a visitor sees each page, in Chromium (`bench/first_view.py`).",
                             entry)
    print(f"appended to {results}")


if __name__ == "__main__":
    main()
