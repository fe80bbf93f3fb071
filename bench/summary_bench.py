"""How long the Architecture page's summaries take, against a plain torchinfo call measured here.

    python bench/summary_bench.py            # prints a table, updates bench/RESULTS.md "Summaries"
    python bench/summary_bench.py --no-write # prints only

For each ImageNet variant it times, in this one process:
  baseline  what a page would do naively: build the model on the CPU and call ``torchinfo.summary``
            with its defaults on a 1x3x224x224 input;
  cold      ``resnet_core.summary.summarize`` on first use (meta-device trace, nothing cached);
  cached    ``ui.cached_summary`` on a second call, i.e. what every later view costs.
Then the comparison data (``compare_models``, 24 traces) cold and cached, and a cold first run of
the whole page through AppTest in a fresh interpreter (imports included), as a learner's first
visit to a freshly started Community Cloud app would see it.

Timings depend on the machine and on what else runs on it; they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torchinfo  # noqa: E402

from bench.results import RESULTS, replace_section  # noqa: E402
from resnet_core import create_model, list_models  # noqa: E402
from resnet_core.summary import compare_models, summarize  # noqa: E402

SECTION = "## Summaries"
COMMAND = "python bench/summary_bench.py"
PAGE_COLD = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
t = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(ROOT / "pages" / "1_Architecture.py")!r}, default_timeout=300).run()
assert not at.exception, at.exception
print(time.perf_counter() - t)
"""


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def baseline(name: str) -> None:
    torchinfo.summary(create_model(name), input_size=(1, 3, 224, 224), verbose=0)


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = re.search(r"Model name:\s*(.+)", lscpu).group(1).strip()  # type: ignore[union-attr]
    except (OSError, subprocess.CalledProcessError, AttributeError):
        model = platform.processor() or "unknown CPU"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"load average {load} at the start (the machine is shared)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()

    # Imported here so streamlit's "no runtime" warnings come after the header, not before it.
    from webui.resources import cached_comparison, cached_summary

    where = machine()
    print(where)
    header = "| model | baseline torchinfo (s) | cold summarize (s) | cold / baseline | cached (ms) | cached / baseline |"
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    print(header)
    summarize("resnet18")  # first meta-device use pays one-off dispatcher setup; keep it out of the table
    for name in list_models("imagenet"):
        base = timed(lambda: baseline(name))
        cold = timed(lambda: summarize(name))
        cached_summary(name, True)  # fill the cache
        warm = timed(lambda: cached_summary(name, True))
        lines.append(f"| {name} | {base:.2f} | {cold:.3f} | {cold / base:.3f} | {warm * 1e3:.1f} | {warm / base:.5f} |")
        print(lines[-1], flush=True)

    cmp_cold = timed(compare_models)
    cached_comparison()
    cmp_warm = timed(cached_comparison)
    page = subprocess.run([sys.executable, "-c", PAGE_COLD], capture_output=True, text=True, check=True)
    page_cold = float(page.stdout.strip().splitlines()[-1])
    extra = [
        "",
        f"- `compare_models()` over all {len(list_models())} variants and their plain twins: "
        f"{cmp_cold:.2f} s cold, {cmp_warm * 1e3:.1f} ms cached.",
        f"- First run of the Architecture page in a fresh interpreter (AppTest, imports of torch and "
        f"streamlit included, resnet18 plus the comparison): {page_cold:.1f} s.",
    ]
    for line in extra[1:]:
        print(line)

    if not args.no_write:
        section = "\n".join(
            [
                SECTION,
                "",
                f"Command: `{COMMAND}` (from the repository root). Machine: {where}.",
                "Baseline: `torchinfo.summary(create_model(name), input_size=(1, 3, 224, 224))` with a CPU",
                "model, measured in the same run. Cold: `summarize(name)`, which traces on the meta device.",
                "Cached: the page's `ui.cached_summary` after its first call.",
                "",
                *lines,
                *extra,
                "",
            ]
        )
        replace_section(SECTION, section)
        print(f"updated {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
