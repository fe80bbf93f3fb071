"""How long each step of the presenter's story takes, in Chromium: from the click to the step's "wow".

The story is ``webui.story.STORY`` walked in presenter mode (``?present=1``) with its **Next**
button, plus the Train page's **Replay**. For each step the clock starts at the click (Home: at the
navigation that opens it) and stops when the element the step is about is on screen and not stale
(Streamlit fades the previous run's elements until the new run replaces them):

| step | the "wow" element |
|---|---|
| Home | the residual block's diagram (a shipped SVG picture, or a Graphviz chart) under the Home title |
| Architecture | the variant's block diagram, the same way, under the Architecture title |
| Train | the recorded race's error chart: a ``.js-plotly-plot`` with data under the Train title |
| Train: Replay | the replay's first frame: the "Replay of the recorded race: step" progress text |
| Why it works | the first experiment's chart (gradient flow): a ``.js-plotly-plot`` with data |
| Classify | the gallery photo's prediction: "Top guess" and the top-5 chart |
| Grad-CAM | the heatmap: the "... for “class”" heading and the overlay chart |
| Fine-tune | the class builder's **Train** button (training needs the visitor's pictures) |

One app server for all repetitions, warmed by one unmeasured walk; then ``--repeats`` walks
(default 3), each in a fresh tab (a new session) of one browser context at 1280x720, whose cache the
warm-up filled, as on a presenter's laptop that opened the app before the talk. Prints each step's median and max; ``--append`` adds
the table, with the machine and the command, to bench/RESULTS.md, "Story steps". The goal
(issue 18) is every step within 5 s on 2 cores.

Usage (under the shared lock; a few minutes)::

    flock /tmp/cpu.lock python bench/story_steps.py [--repeats 3] [--append]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from appserver import AppServer, chromium, report, wait_for_script  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from webui.story import STORY  # noqa: E402  (no Streamlit, no torch)

GOAL_S = 5.0  # issue 18: every step within 5 s on 2 cores
TIMEOUT_MS = 180_000
HEADING = "## Story steps"
INTRO = ("Seconds from a click on **Next** (or **Replay**) in presenter mode to the step's main element on "
         "screen, in Chromium (`bench/story_steps.py`; its docstring names each step's element).")

# A page's main element, drawn by this run: under the page's own title and not stale.
FRESH = ("el => { const c = el.closest('[data-testid=\"stElementContainer\"]');"
         " return !c || c.getAttribute('data-stale') !== 'true'; }")
# A diagram: a shipped SVG picture, decoded (webui.diagram), or a Graphviz chart laid out in the browser.
DIAGRAM = (f"([...document.querySelectorAll('[data-testid=\"stImage\"] img')].some(i => i.complete && i.naturalWidth > 0"
           f" && i.src.startsWith('data:image/svg+xml') && ({FRESH})(i))"
           f" || [...document.querySelectorAll('[data-testid=\"stGraphVizChart\"] svg')].some({FRESH}))")
PLOTLY = f"[...document.querySelectorAll('.js-plotly-plot')].some(p => p.data && ({FRESH})(p))"
TEXT = "/{0}/.test(document.querySelector('[data-testid=\"stMain\"]').innerText)"
TRAIN_BUTTON = f"[...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Train' && ({FRESH})(b))"
#: Per page label: the start of its h1, and a JS expression true once its "wow" element is on screen.
WOW: dict[str, tuple[str, str]] = {
    "Home": ("ResNet, explained", DIAGRAM),
    "Architecture": ("Architecture", DIAGRAM),
    "Train": ("Train a ResNet", PLOTLY),
    "Why it works": ("Why the shortcut works", PLOTLY),
    "Classify": ("Classify", f"{TEXT.format('Top guess')} && {PLOTLY}"),
    "Grad-CAM": ("Grad-CAM", f"{TEXT.format('for “')} && {PLOTLY}"),
    "Fine-tune": ("Fine-tune", TRAIN_BUTTON),
}
REPLAY = "Train: Replay"
REPLAY_WOW = TEXT.format("Replay of the recorded race: step")


def wait_for_wow(tab, title: str, wow: str) -> None:
    """Until the page titled ``title...`` shows its main element (``wow``, a JS expression)."""
    tab.wait_for_function(
        f"() => {{ const h = document.querySelector('h1');"
        f" return !!h && h.innerText.trim().startsWith({title!r}) && ({wow}); }}",
        timeout=TIMEOUT_MS, polling=20,
    )


def walk(context, url: str) -> dict[str, float]:
    """One walk through the story in a new tab of ``context``: seconds per step, in story order."""
    tab = context.new_page()
    times: dict[str, float] = {}
    try:
        first = STORY[0].page.label
        t0 = time.perf_counter()
        tab.goto(f"{url}/{STORY[0].page.url_path}?present=1", wait_until="commit")
        wait_for_wow(tab, *WOW[first])
        times[first] = time.perf_counter() - t0
        for chapter in STORY[1:]:
            label = chapter.page.label
            wait_for_script(tab, TIMEOUT_MS / 1000)  # the click lands on a page that has finished
            button = tab.get_by_role("button", name=f"Next: {label}")
            t0 = time.perf_counter()
            button.click()
            wait_for_wow(tab, *WOW[label])
            times[label] = time.perf_counter() - t0
            if label == "Train":
                wait_for_script(tab, TIMEOUT_MS / 1000)
                t0 = time.perf_counter()
                tab.get_by_role("button", name="Replay", exact=True).click()
                wait_for_wow(tab, WOW[label][0], REPLAY_WOW)
                times[REPLAY] = time.perf_counter() - t0
        return times
    finally:
        tab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="measured walks through the story (default 3)")
    parser.add_argument("--append", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    with AppServer() as server, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        walk(context, server.url)  # warm: every page's imports, caches and the browser's cache filled once
        walks = [walk(context, server.url) for _ in range(args.repeats)]
        context.close()
    table = ["| step | median (s) | max (s) | within 5 s |", "|---|---:|---:|---|"]
    for step in walks[0]:
        seconds = [w[step] for w in walks]
        table.append(f"| {step} | {statistics.median(seconds):.2f} | {max(seconds):.2f} | "
                     f"{'yes' if max(seconds) <= GOAL_S else 'NO'} |")
    notes = [f"{args.repeats} walks after one warm-up walk, one app server, one Chromium context at 1280x720, "
             "`?present=1`"]
    report("bench/story_steps.py", HEADING, INTRO, notes, table, args.append)


if __name__ == "__main__":
    main()
