"""The Train page reopens a finished run from the archive: ``?run=`` after a server restart (issue 18).

A run is written to the archive folder, the server's in-memory runs are cleared (what a restart
leaves), and the page opened with the run's id in the URL draws its results again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from finished_runs import finished_race, finished_training
from pagetest import open_app_page
from resnet_core import jobs
from resnet_core.jobs import new_run_id
from resnet_core.jobs.archive import Archive
from resnet_core.settings import CACHE_DIR_ENV, DATA_DIR_ENV, RUNS_DIR_ENV
from resnet_core.verdict import single_run_note
from webui import pages

PAGE = pages.page("Train").path


@pytest.fixture(autouse=True)
def archive_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh archive folder, no CIFAR-10, and no run of this server in memory before or after."""
    import streamlit as st

    st.cache_data.clear()
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path / "runs"))
    jobs.RUNS.stop_all(timeout=10)
    yield tmp_path / "runs"
    jobs.RUNS.stop_all(timeout=10)


def reopened(run_id: str):
    """The Train page as a visitor's link ``?run=<run_id>`` opens it on a server that just started."""
    jobs.RUNS.stop_all(timeout=10)  # clears the server's runs: only the archive knows the run now
    assert jobs.RUNS._entries == {}
    at = open_app_page(PAGE, timeout=60)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_finished_training_reopens_from_the_archive(archive_folder: Path) -> None:
    run_id, job = new_run_id(), finished_training()
    assert Archive().save(run_id, job)  # the folder from $RESNET_RUNS_DIR, as the server's RUNS uses
    assert (archive_folder / f"{run_id}.json").is_file()
    at = reopened(run_id)
    result = job.snapshot().result
    # The tiny run may or may not end at chance (that depends on the CPU's kernels): the page says
    # what single_run_note says of the restored result, as it did for the live one.
    note = single_run_note(result)
    said = [m.value for m in (at.warning if note else at.success) if m.value.startswith("Training finished")]
    assert said and (note is None or note in said[0])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Network"] == job.label and metrics["Full epochs"] == str(result.epochs_completed)
    assert metrics["Test accuracy"] == f"{result.test_acc:.1%}"
    assert len(at.get("plotly_chart")) == 4  # loss, accuracy, lr, gradient flow: the curves came back
    assert len(at.get("download_button")) == 1  # the trained network came back too
    assert list(at.session_state["trained_models"])[0].startswith(job.label)
    assert at.query_params["run"] in (run_id, [run_id])  # the page kept the id, did not start afresh


def test_a_finished_race_reopens_from_the_archive() -> None:
    run_id, job = new_run_id(), finished_race()
    assert Archive().save(run_id, job)
    at = reopened(run_id)
    tables = [m.value for m in at.markdown if m.value.startswith("| network |")]
    assert tables and all(label in tables[0] for label in ("plain-20", "plain-56", "ResNet-56"))
    findings = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert [f.split(":")[0] for f in findings] == ["- Degradation", "- The fix"]
    assert len(at.get("plotly_chart")) == 2  # the error curves and the gradient flow
    assert any(m.label == "Steps per network" and m.value == "6 / 6" for m in at.metric)


def test_a_run_the_server_finished_is_archived_by_its_sweep(archive_folder: Path) -> None:
    run_id = new_run_id()
    jobs.RUNS.start(run_id, finished_training)
    jobs.RUNS.sweep()
    assert (archive_folder / f"{run_id}.json").is_file()
    at = reopened(run_id)
    assert len(at.get("download_button")) == 1
