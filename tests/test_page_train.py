"""The Train page in Streamlit's AppTest: widgets, a live run to the end, stop, busy server.

AppTest does not fire ``st.fragment(run_every=...)`` on a timer, so the tests poll by rerunning
the script, which is what a browser's fragment reruns amount to.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fakes import blocking_trainer
from pagetest import charts, open_app_page, wait_for
from streamlit.testing.v1 import AppTest
from webui import pages

from resnet_core import jobs
from resnet_core.data import make_synthetic
from resnet_core.jobs import new_run_id, valid_run_id
from resnet_core.lessons import QUICK
from resnet_core.settings import CACHE_DIR_ENV, DATA_DIR_ENV, DATA_FOLDERS_ENV
from resnet_core.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
PAGE = pages.page("Train").path


@pytest.fixture(autouse=True)
def no_cifar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No CIFAR-10 anywhere: the page must offer synthetic data. Leaves no job running."""
    import streamlit as st

    st.cache_data.clear()  # the page caches its CIFAR-10 check; each test sets its own environment
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    yield
    jobs.RUNS.stop_all(timeout=10)


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in at.get(kind)]


def race_table(at: AppTest) -> dict[str, list[str]]:
    """The race's results table (Markdown), column by column; empty until it is drawn."""
    for text in texts(at, "markdown"):
        if text.startswith("| network |"):
            header, _, *rows = [[c.strip() for c in line.strip("|").split(" | ")] for line in text.splitlines()]
            return {name: [row[i] for row in rows] for i, name in enumerate(header)}
    return {}


def tiny_run(at: AppTest) -> AppTest:
    """Shrink a single run through the widgets a user would use: 1 epoch of 64 synthetic images."""
    at.radio(key="mode").set_value("one").run()
    at.radio(key="length").set_value("a number of epochs").run()
    at.number_input(key="epochs").set_value(1.0)
    at.selectbox(key="batch_size").set_value(32)
    at.number_input(key="lr").set_value(0.05)
    at.number_input(key="subset").set_value(64)
    return at.run()


def test_the_default_is_the_degradation_race_at_the_quick_scale() -> None:
    at = open_app_page(PAGE, timeout=60).run()
    assert not at.exception
    assert at.radio(key="mode").value == "race"
    assert at.radio(key="data_source").value == "Synthetic shapes"
    assert any("**Synthetic data:**" in c for c in texts(at, "caption"))
    assert at.radio(key="scale").value == "quick"
    assert at.number_input(key="race_steps_quick").value == QUICK.steps == 300
    explained = " ".join(texts(at, "markdown"))
    assert "Three networks race in lockstep" in explained and "**What the paper found.**" in explained
    assert any(c.startswith("3 networks × 300 steps each, in lockstep") for c in texts(at, "caption"))
    assert not at.button(key="start").disabled and at.button(key="stop").disabled
    # Asking for CIFAR-10 where there is none offers the download, and blocks Start.
    at.radio(key="data_source").set_value("CIFAR-10").run()
    assert any("CIFAR-10 is not on this server yet" in w for w in texts(at, "warning"))
    assert any(b.label.startswith("Download CIFAR-10") for b in at.button)
    assert at.button(key="start").disabled


@pytest.mark.slow
def test_the_race_draws_all_curves_and_ends_with_an_honest_verdict() -> None:
    at = open_app_page(PAGE, timeout=60).run()
    at.number_input(key="race_steps_quick").set_value(10).run()
    at.button(key="start").click().run()
    assert not at.exception
    assert at.button(key="start").disabled and not at.button(key="stop").disabled  # running
    wait_for(at, lambda a: race_table(a), timeout=180)

    verdict = texts(at, "info") + texts(at, "success")
    assert verdict and "synthetic shapes (not CIFAR-10)" in verdict[0] or verdict[0].startswith("Too early")
    findings = [m for m in texts(at, "markdown") if m.startswith("- ")]
    assert [f.split(":")[0] for f in findings] == ["- Degradation", "- The fix"]
    table = race_table(at)
    assert table["network"] == ["plain-20", "plain-56", "ResNet-56"]
    assert table["steps"] == ["10", "10", "10"]  # equal steps: fair by construction
    assert table["paper, Table 6 (full scale)"] == ["—", "—", "6.97%"]
    assert not at.get("dataframe")  # a Markdown table: the Train page never imports pandas or pyarrow
    assert len(at.get("plotly_chart")) == 2  # the error curves and the gradient flow
    assert any("Steps per network" == m.label and m.value == "10 / 10" for m in at.metric)
    assert not at.button(key="start").disabled and at.button(key="stop").disabled


def test_a_single_synthetic_run_trains_live_and_ends_with_results_and_a_download() -> None:
    at = tiny_run(open_app_page(PAGE, timeout=60).run())
    at.button(key="start").click().run()
    assert not at.exception
    finished = lambda a: [t for t in texts(a, "success") + texts(a, "warning") if t.startswith("Training finished")]  # noqa: E731
    wait_for(at, finished)
    # Two steps leave it at chance, and the page says so rather than a plain "Training finished."
    assert finished(at)[0].startswith("Training finished, but: The network ended at") and not texts(at, "success")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"].endswith("%") and metrics["Full epochs"] == "1"
    assert any("synthetic shapes (not CIFAR-10)" in c for c in texts(at, "caption"))
    assert len(at.get("plotly_chart")) == 4  # loss, accuracy, lr, gradient flow
    accuracy = next(c for c in charts(at) if c["layout"]["title"]["text"] == "Accuracy")
    assert [a["text"] for a in accuracy["layout"]["annotations"]] == ["chance: 10 % accuracy (90 % error)"]
    assert len(at.get("download_button")) == 1
    offered = list(at.session_state["trained_models"])
    assert len(offered) == 1 and offered[0].startswith("residual resnet9_w16 (trained here")


def test_stop_survives_a_page_switch_and_keeps_the_curves() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page(PAGE).run()
    at.button(key="start").click().run()  # the default race: 300 steps, far longer than this test
    assert not at.button(key="stop").disabled

    at.switch_page(pages.page("Classify").path).run()  # wander off: the job keeps training
    assert jobs.RUNS.running_count() == 1
    at.switch_page(PAGE).run()  # and back: the page finds it again
    assert not at.button(key="stop").disabled
    wait_for(at, lambda a: any(m.label == "Steps per network" and not m.value.startswith("0 ") for m in a.metric),
             timeout=120)

    at.button(key="stop").click().run()
    wait_for(at, lambda a: texts(a, "info"), timeout=60)
    assert texts(at, "info")[0].startswith("Stopped.")
    steps = [m.value for m in at.metric if m.label == "Steps per network"]
    assert steps and not steps[0].startswith("300")  # stopped well before its 300 steps
    assert jobs.RUNS.running_count() == 0


def test_a_busy_server_says_so_at_once_with_the_time_left() -> None:
    release = threading.Event()

    Blocking = blocking_trainer(release)  # another visitor's job, holding the only slot until released

    clock = iter(range(1000, 10**6, 30))  # the job's clock: 30 s pass between readings
    other = jobs.TrainingJob(TrainConfig(data="synthetic"), trainer_factory=Blocking, train_data=make_synthetic(8),
                             test_data=make_synthetic(8, split="test"), clock=lambda: float(next(clock)))
    jobs.RUNS.start(new_run_id(), other.start)
    try:
        at = open_app_page(PAGE, timeout=60).run()
        assert not at.exception
        (busy,) = [t for t in texts(at, "info") if "busy" in t]
        assert busy.startswith("The server is busy training a model for other visitors")
        assert at.button(key="start").disabled and at.button(key="stop").disabled  # nothing of ours is running
    finally:
        release.set()


def test_a_reload_reconnects_to_the_run_in_the_url() -> None:
    at = open_app_page(PAGE, timeout=60).run()
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    assert valid_run_id(run_id)
    at.button(key="start").click().run()  # the default race: far longer than this test
    assert jobs.RUNS.get(run_id) is not None and jobs.RUNS.get(run_id).is_active
    # F5: a new Streamlit session whose only link to the run is the URL.
    reloaded = open_app_page(PAGE, timeout=60)
    reloaded.query_params["run"] = run_id
    reloaded.run()
    assert not reloaded.exception
    assert not reloaded.button(key="stop").disabled  # it is our run: we can stop it
    reloaded.button(key="stop").click().run()
    assert jobs.RUNS.get(run_id).join(timeout=60)
    # A fresh tab without the id gets its own run id, not someone else's run.
    other = open_app_page(PAGE, timeout=60).run()
    assert other.query_params["run"] != reloaded.query_params["run"] and other.button(key="stop").disabled


def test_the_folder_box_can_be_turned_off(cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(cifar10_dir))
    monkeypatch.setenv(DATA_FOLDERS_ENV, "off")
    at = open_app_page(PAGE, timeout=60).run()
    assert not [w for w in at.text_input if w.key == "data_dir"]  # no box to type into
    assert not at.button(key="start").disabled  # the configured copy still trains


def test_page_finds_cifar10_and_validates_the_folder(cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(cifar10_dir))
    at = open_app_page(PAGE, timeout=60).run()
    assert not at.exception
    assert at.radio(key="data_source").value == "CIFAR-10"
    assert at.text_input(key="data_dir").value == str(cifar10_dir)
    assert not at.button(key="start").disabled
    # A folder without CIFAR-10 blocks Start, with words that do not say whether the folder exists.
    (tmp_path / "empty").mkdir()
    at.text_input(key="data_dir").set_value(str(tmp_path / "empty")).run()
    empty = texts(at, "error")
    assert any("No readable CIFAR-10 copy there" in e for e in empty), empty
    assert at.button(key="start").disabled
    at.text_input(key="data_dir").set_value(str(tmp_path / "no such folder")).run()
    assert texts(at, "error") == empty


def test_a_failed_job_is_shown_with_its_message_and_the_page_stays_up() -> None:
    def broken(config: TrainConfig, **kwargs: Any) -> Any:
        raise RuntimeError("simulated crash in the trainer")

    at = open_app_page(PAGE, timeout=60)
    run_id = new_run_id()
    at.query_params["run"] = run_id  # this tab's run, as a reload would find it
    job = jobs.TrainingJob(TrainConfig(data="synthetic"), trainer_factory=broken, train_data=make_synthetic(8),
                           test_data=make_synthetic(8, split="test"))
    jobs.RUNS.start(run_id, job.start)
    assert job.join(timeout=10)
    at.run()
    assert not at.exception
    assert texts(at, "error") == ["Training failed: RuntimeError: simulated crash in the trainer"]
    assert not at.button(key="start").disabled  # the user can fix the settings and go again


def test_the_download_runs_as_a_job_and_the_page_finds_the_copy(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """Download starts a DownloadJob under the server's slot (never in the page thread); the page
    polls it and, once it ends, trains on the copy it brought."""
    import pickle

    import numpy as np

    import resnet_core.jobs.download as download_module

    gate = threading.Event()

    def fake_download() -> Path:
        gate.wait(30)
        root = tmp_path / "cache" / "data" / "cifar-10-batches-py"
        root.mkdir(parents=True)
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            with open(root / name, "wb") as f:
                pickle.dump({b"data": np.zeros((10, 3072), np.uint8), b"labels": list(range(10))}, f)
        return root

    monkeypatch.setattr(download_module, "_download_cifar10", fake_download)
    at = open_app_page(PAGE, timeout=60).run()
    at.radio(key="data_source").set_value("CIFAR-10").run()
    at.button(key="download_cifar10").click().run()
    assert not at.exception
    job = jobs.RUNS.get(jobs.DOWNLOAD_RUN_ID)
    try:
        assert isinstance(job, jobs.DownloadJob) and job.is_active
        assert any("Downloading CIFAR-10" in i for i in texts(at, "info"))
        assert not jobs.RUNS.availability().free  # the slot is the download's meanwhile
        gate.set()
        assert job.join(timeout=30)
        wait_for(at, lambda a: not any("Downloading" in i for i in texts(a, "info")), timeout=30)
        assert not any("not on this server yet" in w for w in texts(at, "warning"))
        assert not [b for b in at.button if b.key == "download_cifar10"]
    finally:
        gate.set()
        jobs.RUNS.forget(jobs.DOWNLOAD_RUN_ID)
# --- The recorded race: on the page before any click, replayed on request (issue 18, item 1) ---------


def _names(chart: dict) -> list[str]:
    return [t.get("name", "") for t in chart["data"]]


def test_the_recorded_race_its_verdict_and_table_show_before_any_click() -> None:
    at = open_app_page(PAGE, timeout=120).run()
    assert not at.exception
    (chart,) = charts(at)  # nothing pressed: the recorded race is drawn
    assert _names(chart) == ["plain-20 (recorded)", "plain-56 (recorded)", "ResNet-56 (recorded)"]
    assert all(t["line"]["dash"] == "dot" for t in chart["data"])
    assert max(chart["data"][0]["x"]) == 2000
    notes = [a["text"] for a in chart["layout"]["annotations"]]
    assert "RECORDED on 2026-11-25, not live" in notes and "chance: 90 % error" in notes
    # The verdict, computed from the recorded numbers, in points.
    assert texts(at, "success") == ["This run reproduced the paper on CIFAR-10: degradation; the fix."]
    findings = [m for m in texts(at, "markdown") if m.startswith("- ")]
    assert findings[0].startswith("- Degradation: as in the paper, plain-56 ends 28.1 points above plain-20")
    table = race_table(at)
    assert table["network"] == ["plain-20", "plain-56", "ResNet-56"] and table["steps"] == ["2000"] * 3
    assert table["training error (last 10% of steps)"] == ["48.8%", "76.9%", "47.2%"]
    assert table["paper, Table 6 (full scale)"] == ["—", "—", "6.97%"]
    captions = " ".join(texts(at, "caption"))
    assert "**Recorded, not live:** the whole 2,000-step schedule, run on 2026-11-25 on AMD EPYC, 2 cores" in captions
    assert "read from an offline copy of CIFAR-10 on disk" in captions
    assert "Recorded with `python -m resnet_core experiment degradation --scale quick --steps 2000" in captions
    # How long a live race would take here, measured before Start.
    pace = [t for t in texts(at, "caption") + texts(at, "warning") if t.startswith("On this server a live race")]
    assert len(pace) == 1 and "300 steps would take about" in pace[0] and "measured just now" in pace[0]
    assert [b.label for b in at.button][:3] == ["Run it live", "Replay", "Stop"]


def test_replay_advances_and_reaches_the_verdict() -> None:
    at = open_app_page(PAGE, timeout=120).run()
    at.button(key="replay").click().run()
    assert not at.exception

    def replay_step(a: AppTest) -> int | None:
        for c in texts(a, "caption"):
            if c.startswith("Replay: step "):
                return int(c.removeprefix("Replay: step ").split(" of")[0].replace(",", ""))
        return None

    first = replay_step(at)
    assert first is not None and first < 2000
    assert not texts(at, "success") and not race_table(at)  # the verdict waits for the end
    shown = max(charts(at)[0]["data"][0]["x"] or [0])
    at.run()  # a timer tick, as the browser's fragment would fire it
    assert replay_step(at) > first and max(charts(at)[0]["data"][0]["x"]) > shown
    wait_for(at, lambda a: any(c.startswith("Replay finished") for c in texts(a, "caption")), timeout=120)
    assert texts(at, "success") == ["This run reproduced the paper on CIFAR-10: degradation; the fix."]
    assert race_table(at)["steps"] == ["2000"] * 3
    assert max(charts(at)[0]["data"][0]["x"]) == 2000 and replay_step(at) is None


def test_live_and_recorded_traces_have_different_names_and_styles() -> None:
    from resnet_core.lessons import DEGRADATION
    from resnet_core.reference_curves import recorded_race
    from webui.figures.train import race_error_figure

    at = open_app_page(PAGE, timeout=120).run()
    at.number_input(key="race_steps_quick").set_value(10).run()
    at.button(key="start").click().run()
    assert not at.exception
    wait_for(at, lambda a: any(n.endswith("(live)") for c in charts(a) for n in _names(c)), timeout=180)
    live_names = {n for c in charts(at) for n in _names(c) if "(live)" in n}
    assert {"plain-20 train (live)", "plain-56 test (live)", "ResNet-56 train (live)"} <= live_names
    assert not any("(recorded)" in n for c in charts(at) for n in _names(c))  # synthetic data: no recorded overlay
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    snap = jobs.RUNS.get(run_id).snapshot()
    recorded = recorded_race(DEGRADATION, "quick")
    fig = race_error_figure(snap, recorded).to_dict()
    live = [t for t in fig["data"] if t["name"].endswith("(live)")]
    rec = [t for t in fig["data"] if t["name"].endswith("(recorded)")]
    assert len(live) == 6 and len(rec) == 3 and not {t["name"] for t in live} & {t["name"] for t in rec}
    assert all(t["line"]["dash"] == "dot" for t in rec) and all(t["line"].get("dash") != "dot" for t in live)
    assert fig["layout"]["xaxis"]["range"] == [0, 10]  # the steps being run, not the recorded 2,000
    assert max(x for t in rec for x in t["x"]) <= 10
    whole = race_error_figure(snap, recorded, whole_recorded=True).to_dict()
    assert whole["layout"]["xaxis"]["range"] == [0, 2000]
    assert any(a["text"].startswith("LIVE, solid") for a in fig["layout"]["annotations"])


def test_presenter_mode_closes_the_race_explanation_and_hides_the_recording_command() -> None:
    at = open_app_page(PAGE, timeout=120)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    (explanation,) = [e for e in at.expander if e.label.startswith("What this race shows")]
    assert explanation.proto.expanded is False  # the rule of webui.presenter.expanded: the speaker explains
    captions = " ".join(texts(at, "caption"))
    assert "python -m resnet_core" not in captions and "Test errors on a 1,000-image subset" in captions
    # The terms the explanation uses are each explained in one line beside it.
    assert any("6n+2" in c and "Option A" in c and "bench/degradation.py" in c for c in texts(at, "caption"))
