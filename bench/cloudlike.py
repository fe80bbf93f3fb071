"""A Community-Cloud-like box: the server in a 1-core CPU quota and a 1 GB memory cgroup.

Issue 19, goal 3. One visitor, one thing after another, as a learner would: Home, the degradation
race with the Train page's defaults, Classify on an uploaded 6 MP photo, a fine-tune of two small
classes. The server must survive all of it (a memory cgroup kills the process that goes over its
limit); reported are each step's wall time, the server's peak RSS during it, and the cgroup's own
peak (``memory.max_usage_in_bytes``: RSS plus page cache, what the kernel holds against the limit).

Needs root and cgroup v1's ``cpu`` and ``memory`` controllers under /sys/fs/cgroup (the groups are
made for the run and removed after it)::

    python bench/cloudlike.py --data-dir /work/shared/data

It prints a table and, unless ``--no-append``, appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from appserver import MB, PAGES, AppServer, bench_parser, chromium, report, wait_for_script  # noqa: E402

URL_PATHS = {p.label: p.url_path for p in PAGES}
from load import load_average, photo  # noqa: E402
from memory import run_finished, start_run  # noqa: E402
from pictures import shape_files  # noqa: E402

CGROUP_ROOT = Path("/sys/fs/cgroup")
NAME = "resnet_cloudlike"


@contextlib.contextmanager
def cloud_box(cpus: float, memory_mb: int) -> Iterator[list[Path]]:
    """Make a cpu group with a ``cpus`` quota and a memory group of ``memory_mb``; remove both after."""
    cpu, mem = CGROUP_ROOT / "cpu" / NAME, CGROUP_ROOT / "memory" / NAME
    for group in (cpu, mem):
        group.mkdir(exist_ok=True)
    try:
        period = int((cpu / "cpu.cfs_period_us").read_text())
        (cpu / "cpu.cfs_quota_us").write_text(str(int(cpus * period)))
        (mem / "memory.limit_in_bytes").write_text(str(memory_mb * MB))
        yield [cpu, mem]
    finally:
        for group in (cpu, mem):
            for pid in (group / "cgroup.procs").read_text().split():  # leftovers go back to the root group
                with contextlib.suppress(OSError):
                    (group.parent / "cgroup.procs").write_text(pid)
            with contextlib.suppress(OSError):
                group.rmdir()


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--cpus", type=float, default=1.0, help="CPU quota in cores")
    parser.add_argument("--memory-mb", type=int, default=1024, help="memory cgroup limit")
    args = parser.parse_args()

    env = {"RESNET_DATA_DIR": args.data_dir} if args.data_dir else {}
    rows: list[tuple[str, str, str]] = []
    notes: list[str] = [f"the server in a {args.cpus:g}-core CPU quota and a {args.memory_mb} MB memory cgroup (v1)",
                        f"load average at the start: {load_average()}"]
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser, cloud_box(args.cpus, args.memory_mb) as groups, \
            AppServer(env=env, cgroups=groups) as server:
        mem_group = groups[1]
        page = browser.new_page(viewport={"width": 1366, "height": 768})

        def step(label: str, action) -> None:
            t0 = time.monotonic()
            (mem_group / "memory.max_usage_in_bytes").write_text("0")  # the cgroup's peak, from now
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - a timeout in the browser: say whether the server died
                if server.proc is not None and server.proc.poll() is None:
                    raise
                notes.append(f"{label}: {type(exc).__name__} in the browser")
            alive = server.proc is not None and server.proc.poll() is None
            rows.append((label, f"{time.monotonic() - t0:.0f} s" if alive else "**server died**",
                         f"{server.peak_since(t0) / MB:.0f} MB / "
                         f"{int((mem_group / 'memory.max_usage_in_bytes').read_text()) / MB:.0f} MB"))
            if not alive:
                raise SystemExit(f"the server died during '{label}' (exit {server.proc.poll()})")

        def home() -> None:
            page.goto(server.url)
            wait_for_script(page, 600)

        def race() -> None:
            page.goto(f"{server.url}/{URL_PATHS['Train']}")
            wait_for_script(page, 600)
            start_run(page)
            run_finished(page, 3600)

        def classify() -> None:
            upload = photo(Path(tmp) / "photo_6mp.jpg")
            page.goto(f"{server.url}/{URL_PATHS['Classify']}")
            wait_for_script(page, 600)
            page.get_by_text("Upload", exact=True).click()
            page.wait_for_selector('input[type="file"]', state="attached", timeout=300_000)
            page.locator('input[type="file"]').set_input_files(str(upload))
            page.wait_for_function(f"() => document.body.innerText.includes('{upload.name} (')", timeout=600_000)
            wait_for_script(page, 600)

        def finetune() -> None:
            page.goto(f"{server.url}/{URL_PATHS['Fine-tune']}")
            wait_for_script(page, 600)
            for name, files in shape_files(per_class=6).items():
                page.get_by_label("New class").fill(name)
                page.get_by_role("button", name="Add class").click()
                uploader = page.locator('[data-testid="stFileUploader"]', has_text=f"Add pictures of {name}")
                uploader.locator('input[type="file"]').set_input_files(
                    [{"name": n, "mimeType": "image/png", "buffer": data} for n, data in files])
                page.get_by_text(f"{name} · 6 pictures").wait_for(timeout=300_000)
            wait_for_script(page, 600)
            page.get_by_role("button", name="Train", exact=True).click()
            page.get_by_text("Held-out accuracy", exact=True).wait_for(timeout=900_000)

        for label, action in (("Home", home), ("the race, page defaults", race),
                              ("Classify a 6 MP upload", classify), ("Fine-tune two classes of 6", finetune)):
            step(label, action)
        notes.append(f"load average at the end: {load_average()}")
        notes.append(f"memory.failcnt (allocations refused at the limit): {(mem_group / 'memory.failcnt').read_text().strip()}")

    table = ["| step | wall time | server peak RSS / cgroup peak |", "|---|---:|---:|"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    report("bench/cloudlike.py", "## A Community-Cloud-like box",
           "The server in a CPU quota and a memory cgroup, one visitor after another (`bench/cloudlike.py`, issue 19).",
           notes, table, append=not args.no_append)

if __name__ == "__main__":
    main()
