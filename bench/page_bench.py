"""How long each page's warm view takes: a rerun with every cache filled, as a learner's next click sees it.

    flock /tmp/cpu.lock python bench/page_bench.py            # prints a table, updates bench/RESULTS.md "Page views"
    flock /tmp/cpu.lock python bench/page_bench.py --no-write # prints only

Each scenario opens the page through ``app.py`` in Streamlit's AppTest (as ``streamlit run``
serves it), sets its widgets, runs it once to fill the caches (cold, reported but not the target),
then reruns it ``--repeats`` times. The warm view is the median rerun, the worst is reported too.
The baseline, measured in the same run, is the Home page's warm view: AppTest's own overhead
plus the sidebar, which every page pays. ImageNet scenarios use a randomly initialised ResNet-50
saved where torchvision's IMAGENET1K_V1 file goes, in a temporary torch hub folder: the same
compute as the real weights, with no download. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

# A private hub folder before torch reads it, so the ImageNet scenarios find their stand-in weights.
os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="page_bench_torch_")

import torch  # noqa: E402

from bench.results import replace_section  # noqa: E402
from bench.summary_bench import machine  # noqa: E402
from resnet_core import create_model  # noqa: E402
from resnet_core.pretrained import weights_path  # noqa: E402
from webui.pages import page  # noqa: E402

SECTION = "## Page views"
COMMAND = "flock /tmp/cpu.lock python bench/page_bench.py"
TARGET_S = 1.5  # issue 12: no page's warm view past 1.5 s on 2 CPU cores

Setup = Callable[[object], None]


def stage_imagenet_weights() -> None:
    """A random ResNet-50 saved as torchvision's IMAGENET1K_V1 file (same shapes, same compute)."""
    path = weights_path("resnet50")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(create_model("resnet50").state_dict(), path)


def pick(key: str, value: object, kind: str = "selectbox") -> Setup:
    return lambda at: getattr(at, kind)(key=key).set_value(value)


SCENARIOS: list[tuple[str, str, list[Setup]]] = [
    ("Home (baseline)", page("Home").path, []),
    ("Architecture, resnet18", page("Architecture").path, []),
    ("Architecture, resnet152", page("Architecture").path, [pick("variant", "resnet152")]),
    ("Architecture, resnet110 plain twin", page("Architecture").path,
     [pick("variant", "resnet110"), pick("residual", False, "toggle")]),
    ("Classify, shipped ResNet-9 (w24)", page("Classify").path, [pick("classify_model", "shipped")]),
    ("Classify, ImageNet ResNet-50", page("Classify").path, [pick("classify_model", "imagenet:resnet50")]),
    ("Grad-CAM, shipped ResNet-9 (w24)", page("Grad-CAM").path, [pick("gradcam_model", "shipped")]),
    ("Grad-CAM, shipped, shared scale", page("Grad-CAM").path,
     [pick("gradcam_model", "shipped"), pick("gradcam_scaling", "shared", "radio")]),
    ("Grad-CAM, ImageNet ResNet-50", page("Grad-CAM").path, [pick("gradcam_model", "imagenet:resnet50")]),
    ("Train (the lead's page, for reference)", page("Train").path, []),
]


def measure(page: str, setups: list[Setup], repeats: int) -> tuple[float, list[float]]:
    """Cold seconds (first run after setting the widgets) and the warm reruns' seconds."""
    from pagetest import open_app_page

    at = open_app_page(page, timeout=600)
    at.run()
    for setup in setups:
        setup(at)
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
    return cold, warm


def cpu_flags() -> str:
    """The vector extensions that matter for PyTorch on the CPU, read from /proc/cpuinfo."""
    try:
        flags = set(next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split())
    except (OSError, StopIteration):
        return "CPU flags unknown"
    have = lambda f: "" if f in flags else "no "  # noqa: E731
    return f"{have('avx2')}AVX2, {have('avx512f')}AVX-512, {have('avx512_bf16')}bf16"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--repeats", type=int, default=5, help="warm reruns per scenario (default 5)")
    args = parser.parse_args()
    if not os.environ.get("RESNET_SAMPLES_DIR"):
        sys.exit("set RESNET_SAMPLES_DIR (and RESNET_DATA_DIR) so the pages have a picture, as .ci/run does")
    stage_imagenet_weights()

    where = f"{machine()}; {cpu_flags()}"
    print(where)
    header = "| page view | cold (s) | warm median (s) | warm worst (s) | warm / baseline | within 1.5 s |"
    lines = [header, "|---|---:|---:|---:|---:|---|"]
    print(header, flush=True)
    baseline = None
    for label, page, setups in SCENARIOS:
        cold, warm = measure(page, setups, args.repeats)
        median = statistics.median(warm)
        baseline = baseline or median
        ok = "yes" if max(warm) <= TARGET_S else "**no**"
        lines.append(f"| {label} | {cold:.2f} | {median:.3f} | {max(warm):.3f} | {median / baseline:.1f}x | {ok} |")
        print(lines[-1], flush=True)

    if not args.no_write:
        section = "\n".join(
            [
                SECTION,
                "",
                f"Command: `RESNET_DATA_DIR=/work/shared/data RESNET_SAMPLES_DIR=/work/shared/samples {COMMAND}` "
                f"(from the repository root). Machine: {where}.",
                f"Each page through AppTest via `app.py`; warm = a rerun with the caches filled, median of "
                f"{args.repeats} (worst beside it); baseline = the Home page's warm view in the same run. "
                "Cold = the first run after setting the widgets in a process that had already imported "
                "everything (not a fresh server). ImageNet rows: a random-weight ResNet-50 in a temporary "
                "hub folder, the same compute as the real weights. Target (issue 12): warm <= 1.5 s.",
                "",
                *lines,
                "",
            ]
        )
        replace_section(SECTION, section)
        print(f"updated {Path('bench/RESULTS.md')}")


if __name__ == "__main__":
    main()
