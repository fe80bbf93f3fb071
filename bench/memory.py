"""Server memory under real visitors: starts the app, drives sessions in Chromium, samples RSS.

Phases, each reported as the server process's peak resident memory against issue #10's limit:

1. the first Home page on a fresh server (limit 550 MB);
2. one default CPU training run: a visitor goes from Home to the Train page, clicks Start with
   the page's defaults (the degradation race) and waits to the end, then trains "One network"
   with its defaults (limit 1.0 GB for each);
3. four sessions at once: one training (the race again), one classifying a 50-megapixel photo
   upload, two browsing Home / Architecture / Classify / Grad-CAM until the run ends (limit 1.5 GB);
4. every tab closed, then wait until the results expire (``RESNET_KEEP_S``, shortened here to
   20 s) and Streamlit drops the closed sessions (``server.disconnectedSessionTTL``, shortened
   to 10 s): memory should be back near the level the server had with every page visited and no
   run (torch, torchvision and the caches loaded: a process never unloads a library).

Usage (holds both cores for ~8 minutes: run it alone on the machine)::

    python bench/memory.py --data-dir /work/shared/data

It prints a table and, unless ``--no-append``, appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import MB, PAGES as APP_PAGES, AppServer, append_results, chromium, machine, torch_version, wait_for_script  # noqa: E402

URL_PATHS = {p.label: p.url_path for p in APP_PAGES}

LIMITS_MB = {"first Home page": 550, "one default CPU training run": 1024, "4 sessions": 1536}
PAGES = [URL_PATHS[label] for label in ("Home", "Architecture", "Classify", "Grad-CAM")]  # what the browsing visitors look at


def big_photo(path: Path, megapixels: float = 50.0) -> Path:
    """A ``megapixels`` JPEG (8660 x 5774 for 50 MP) under Streamlit's 25 MB upload limit."""
    import numpy as np
    from PIL import Image

    w = int((megapixels * 1e6 * 1.5) ** 0.5)
    h = int(megapixels * 1e6 / w) + 1
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=-1)
    # Fine-grained noise, so the JPEG is about as big as a phone photo of that size (~10 MB).
    noise = np.random.default_rng(0).normal(0, 12, (h // 2 + 1, w // 2 + 1, 1)).repeat(2, 0).repeat(2, 1)[:h, :w]
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=80)
    return path


DONE_JS = "() => /Time left\\s*done|The race failed|Training failed/.test(document.body.innerText)"


def run_finished(page, timeout_s: float) -> None:
    """Until the Train page shows its run ended (a race or one network; finished, stopped or failed)."""
    page.wait_for_function(DONE_JS, timeout=timeout_s * 1000, polling=1000)


def start_run(page, mode: str | None = None, steps: int | None = None) -> None:
    """Click Start on the Train page, with its defaults unless ``mode`` (a radio label) or race ``steps``."""
    if mode:
        page.get_by_text(mode, exact=True).click()
        wait_for_script(page)
    if steps:
        page.get_by_text("Advanced settings").click()
        box = page.get_by_role("spinbutton", name="Steps per network")
        box.fill(str(steps))
        box.press("Enter")
        wait_for_script(page)
    # One Start, enabled: right after a click the rerun may not have begun, and while it runs the
    # previous layout's Start stays on the page (stale) beside the new one.
    page.wait_for_function("() => { const s = [...document.querySelectorAll('button')]"
                           ".filter(b => ['Start', 'Run it live'].includes(b.innerText.trim()));"
                           " return s.length === 1 && !s[0].disabled && !document.querySelector('[data-stale=\"true\"]'); }",
                           timeout=120_000)
    page.get_by_role("button", name="Start" if mode == "One network" else "Run it live", exact=True).click()
    page.wait_for_selector('button:has-text("Stop"):not([disabled])', timeout=120_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="CIFAR-10 for the training runs ($RESNET_DATA_DIR)")
    parser.add_argument("--race-steps", type=int, default=None,
                        help="steps per network for the races (default: the page's); memory peaks in the first "
                             "evaluation, so a shorter race measures the same peak sooner")
    parser.add_argument("--skip-race", action="store_true",
                        help="train only one network in phase 2 (its peak on a server that ran no race)")
    parser.add_argument("--no-append", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--only-training", action="store_true",
                        help="phases 1 and 2 only (for a torch build without a matching torchvision)")
    args = parser.parse_args()

    env = {"RESNET_KEEP_S": "20", "RESNET_ABANDON_S": "120"}
    if args.data_dir:
        env["RESNET_DATA_DIR"] = args.data_dir
    rows: list[tuple[str, float, float, float | None]] = []  # (phase, MB, limit MB)
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser, \
            AppServer(env=env, extra_args=["--server.disconnectedSessionTTL", "10"]) as server:
        photo = big_photo(Path(tmp) / "photo_50mp.jpg")
        notes.append(f"upload: {photo.stat().st_size / MB:.1f} MB JPEG, 50 MP")
        rows.append(("server started, no visitor", server.rss() / MB, server.anon() / MB, None))

        def tab(path: str):
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"{server.url}/{path}")
            wait_for_script(page)
            return page

        t0 = time.monotonic()
        home = tab("")
        time.sleep(3)  # anything the page triggers after its script (static files, websocket) settles
        rows.append(("first Home page", server.peak_since(t0) / MB, server.peak_since(t0, anon=True) / MB, LIMITS_MB["first Home page"]))

        # A visitor who goes from Home straight to Train and starts it with the page's defaults: the
        # degradation race (three networks on CIFAR-10 at 16x16).
        t0 = time.monotonic()
        train = tab(URL_PATHS["Train"])
        time.sleep(2)
        rows.append(("Train page open, nothing running", server.rss() / MB, server.anon() / MB, None))
        if not args.skip_race:
            start_run(train, steps=args.race_steps)
            t_run = time.monotonic()
            run_finished(train, 900)
            notes.append(f"default run (the race, {args.race_steps or 'the default'} steps): "
                         f"{time.monotonic() - t_run:.0f} s wall")
            rows.append(("one default CPU training run: the race", server.peak_since(t0) / MB,
                         server.peak_since(t0, anon=True) / MB, LIMITS_MB["one default CPU training run"]))
            time.sleep(5)  # the visitor picks "One network"; the registry's sweep sees the race end
            rows.append(("the race ended, nothing running", server.rss() / MB, server.anon() / MB, None))
        else:
            notes.append("--skip-race: one network is this server's first run")
        # The same visitor trains one network with its defaults (the whole training split).
        t0 = time.monotonic()
        start_run(train, mode="One network")
        t_run = time.monotonic()
        run_finished(train, 900)
        notes.append(f"one network with its defaults: {time.monotonic() - t_run:.0f} s wall")
        rows.append(("one default CPU training run: one network", server.peak_since(t0) / MB, server.peak_since(t0, anon=True) / MB,
                     LIMITS_MB["one default CPU training run"]))

        if args.only_training:  # e.g. a torch build with no matching torchvision: Home and Train only
            for page in (home, train):
                page.close()
            time.sleep(45)
            rows.append(("tabs closed, results expired", server.rss() / MB, server.anon() / MB, None))
            notes.append("--only-training: the Architecture, Classify and Grad-CAM phases were not run")
        else:
            run_rest(server, tab, home, train, photo, rows, notes, args.race_steps)

    report(rows, notes, args)


def run_rest(server: AppServer, tab: Any, home: Any, train: Any, photo: Path,
             rows: list[tuple[str, float, float, float | None]], notes: list[str], race_steps: int | None) -> None:
    """Phases 3 and 4: every page once, then four visitors at once, then everybody leaves."""
    # Every other page once (torchvision, the classifier, the summaries), then wait until that
    # run's results expire (20 s) and the pages' rate-limited release (30 s) has had its turn.
    for path in PAGES[1:]:
        home.goto(f"{server.url}/{path}")
        wait_for_script(home)
    time.sleep(35)
    home.goto(server.url)
    wait_for_script(home)
    time.sleep(2)
    rows.append(("every page visited, first run expired, nothing running", server.rss() / MB, server.anon() / MB, None))
    before_runs = server.rss()

    t0 = time.monotonic()
    trainer = tab(URL_PATHS["Train"])  # a new visitor: their own run id
    start_run(trainer, steps=race_steps)
    classify = tab(URL_PATHS["Classify"])
    classify.get_by_text("Upload", exact=True).click()
    classify.wait_for_selector('input[type="file"]', state="attached", timeout=60_000)
    classify.locator('input[type="file"]').set_input_files(str(photo))
    # The picture's caption names the file: the upload was decoded and classified.
    classify.wait_for_function(f"() => document.body.innerText.includes('{photo.name} (')", timeout=180_000)
    wait_for_script(classify)
    browsers = [tab(URL_PATHS["Home"]), tab(URL_PATHS["Architecture"])]
    visits = 0
    while not trainer.evaluate(DONE_JS) and time.monotonic() - t0 < 900:
        for b in browsers:
            b.goto(f"{server.url}/{PAGES[visits % len(PAGES)]}")
            wait_for_script(b)
            visits += 1
    run_finished(trainer, 900)
    notes.append(f"4 sessions: {visits} page views by the two browsing visitors during the run")
    rows.append(("4 sessions", server.peak_since(t0) / MB, server.peak_since(t0, anon=True) / MB, LIMITS_MB["4 sessions"]))
    rows.append(("all runs ended, tabs still open", server.rss() / MB, server.anon() / MB, None))

    for page in [home, train, trainer, classify, *browsers]:
        page.close()
    time.sleep(45)  # results expire (20 s), closed sessions are dropped (10 s), the sweeper runs (5 s)
    rows.append(("tabs closed, results expired", server.rss() / MB, server.anon() / MB, None))
    # A visitor arriving later: their page run hands back what the closed sessions left.
    late = tab("")
    time.sleep(2)
    late.close()
    rows.append(("tabs closed, results expired, one more Home visit", server.rss() / MB, server.anon() / MB, None))
    after = server.rss()
    notes.append(f"after expiry vs every page visited and nothing running: {after / MB:.0f} MB vs "
                 f"{before_runs / MB:.0f} MB ({(after - before_runs) / MB:+.0f} MB)")


def report(rows: list[tuple[str, float, float, float | None]], notes: list[str], args: argparse.Namespace) -> None:
    """Print the table and append it to bench/RESULTS.md."""
    table = ["| phase | server RSS (MB) | of it anonymous (MB) | limit (MB) | RSS within |", "|---|---:|---:|---:|---|"]
    for phase, mb, anon, limit in rows:
        ok = "" if limit is None else ("yes" if mb <= limit else "**no**")
        table.append(f"| {phase} | {mb:.0f} | {anon:.0f} | {'' if limit is None else limit} | {ok} |")
    print("\n".join(table))
    print("\n".join(f"- {n}" for n in notes))
    if args.no_append:
        return
    command = "python " + " ".join(shlex.quote(a) for a in ["bench/memory.py", *sys.argv[1:]])
    entry = (
        f"\n### {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
        f"- Machine: {machine()}; torch {torch_version()}\n- Command: `{command}`\n"
        + "".join(f"- {n}\n" for n in notes) + "\n" + "\n".join(table) + "\n"
    )
    results = append_results("## Server memory", "Peak resident memory of `streamlit run app.py` under visitors "
                             "driven in Chromium (`bench/memory.py`).", entry)
    print(f"appended to {results}")


if __name__ == "__main__":
    main()
