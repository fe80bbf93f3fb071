"""The Train page in Streamlit's AppTest: widgets, a live run to the end, stop, busy server.

AppTest does not fire ``st.fragment(run_every=...)`` on a timer, so the tests poll by rerunning
the script, which is what a browser's fragment reruns amount to.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pagetest import open_app_page
from streamlit.testing.v1 import AppTest
from torch import nn

from resnet_core import jobs
from resnet_core.data import make_synthetic
from resnet_core.models import list_models
from resnet_core.registry import new_run_id, valid_run_id
from resnet_core.settings import CACHE_DIR_ENV, DATA_DIR_ENV, DATA_FOLDERS_ENV
from resnet_core.train import TrainConfig, TrainResult

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/2_Train.py"


@pytest.fixture(autouse=True)
def no_cifar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """No CIFAR-10 anywhere: the page must offer synthetic data. Leaves no job running."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    yield
    jobs.REGISTRY.stop_all(timeout=10)


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in at.get(kind)]


def wait_for(at: AppTest, done: Any, timeout: float = 60.0) -> AppTest:
    """Rerun the page until ``done(at)`` holds, as the fragment's timer would."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert not at.exception, at.exception
        assert time.monotonic() < deadline, f"page did not get there: {texts(at, 'markdown')[-3:]}"
        time.sleep(0.3)
        at.run()
    return at


def tiny_run(at: AppTest, group: str = "one") -> AppTest:
    """Shrink the run through the widgets a user would use: 1 epoch of 64 synthetic images."""
    at.radio(key="length").set_value("a number of epochs").run()
    at.number_input(key=f"epochs_{group}").set_value(1.0)
    at.selectbox(key=f"batch_size_{group}").set_value(32)
    at.number_input(key=f"lr_{group}").set_value(0.05)
    at.number_input(key=f"subset_{group}").set_value(64)
    at.number_input(key=f"test_subset_{group}").set_value(32)
    at.number_input(key=f"grad_norm_every_{group}").set_value(1)
    return at.run()


def test_page_offers_synthetic_data_and_the_cifar_models_without_cifar10() -> None:
    at = open_app_page(PAGE, timeout=60).run()
    assert not at.exception
    assert at.radio(key="data_source").value == "Synthetic shapes"
    assert any("**Synthetic data:**" in c for c in texts(at, "caption"))
    assert [o.split()[0] for o in at.selectbox(key="model").options] == list_models(family="cifar")
    assert at.selectbox(key="model").value == TrainConfig.for_device("cpu").model
    assert at.toggle(key="residual").value is True
    assert not at.button(key="start").disabled and at.button(key="stop").disabled
    # Asking for CIFAR-10 where there is none offers the download, and blocks Start.
    at.radio(key="data_source").set_value("CIFAR-10").run()
    assert any("CIFAR-10 is not on this server yet" in w for w in texts(at, "warning"))
    assert any(b.label.startswith("Download CIFAR-10") for b in at.button)
    assert at.button(key="start").disabled
    # The comparison experiments default to the paper's depth and recipe.
    at.radio(key="data_source").set_value("Synthetic shapes")
    at.radio(key="experiment").set_value("twins").run()
    assert at.selectbox(key="twin_model").value == "resnet56"
    assert at.selectbox(key="batch_size_compare").value == 128
    assert at.number_input(key="lr_compare").value == pytest.approx(0.1)


def test_a_synthetic_run_trains_live_and_ends_with_results_and_a_download() -> None:
    at = tiny_run(open_app_page(PAGE, timeout=60).run())
    at.button(key="start").click().run()
    assert not at.exception
    assert at.button(key="start").disabled and not at.button(key="stop").disabled  # running
    wait_for(at, lambda a: texts(a, "success"))

    assert texts(at, "success") == ["Training finished."]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"].endswith("%") and metrics["Full epochs"] == "1"
    assert any("synthetic shapes (not CIFAR-10)" in c for c in texts(at, "caption"))
    assert len(at.get("plotly_chart")) == 4  # loss, accuracy, lr, gradient flow
    assert len(at.get("download_button")) == 1
    offered = list(at.session_state["trained_models"])
    assert len(offered) == 1 and offered[0].startswith("residual resnet9_w16 (trained here")
    assert not at.button(key="start").disabled and at.button(key="stop").disabled


def test_plain_vs_residual_overlays_both_runs_and_says_what_the_paper_found() -> None:
    at = open_app_page(PAGE, timeout=60).run()
    at.radio(key="experiment").set_value("twins").run()
    at.selectbox(key="twin_model").set_value("resnet20")
    tiny_run(at, "compare")
    at.button(key="start").click().run()
    wait_for(at, lambda a: texts(a, "success"), timeout=90)

    headings = [m for m in texts(at, "markdown") if m.startswith("####")]
    assert headings == ["#### plain resnet20: finished", "#### residual resnet20: finished"]
    notes = " ".join(texts(at, "markdown"))
    assert "**What the paper found.**" in notes and "6.43%" in notes and "**What you got.**" in notes
    assert "**plain resnet20**: test" in notes and "**residual resnet20**: test" in notes
    assert len(at.get("download_button")) == 2
    assert len(at.session_state["trained_models"]) == 2


def test_stop_survives_a_page_switch_and_ends_the_run() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/2_Train.py").run()
    at.radio(key="length").set_value("a time budget").run()
    at.number_input(key="budget_s_one").set_value(300)
    at.number_input(key="subset_one").set_value(512)
    at.run()
    at.button(key="start").click().run()
    assert not at.button(key="stop").disabled

    at.switch_page("pages/3_Classify.py").run()  # wander off: the job keeps training
    assert jobs.REGISTRY.running_count() == 1
    # ... and every page's sidebar keeps it alive (a heartbeat) and says so.
    assert any(c.value.startswith("Your training run:") for c in at.sidebar.caption)
    at.switch_page("pages/2_Train.py").run()  # and back: the page finds it again
    assert not at.button(key="stop").disabled
    wait_for(at, lambda a: any(m.label == "Images / s" and m.value != "..." for m in a.metric))

    at.button(key="stop").click().run()
    t0 = time.monotonic()
    wait_for(at, lambda a: texts(a, "info"), timeout=20)
    assert time.monotonic() - t0 < 10
    assert texts(at, "info")[0].startswith("Stopped.")
    trained = [m.value for m in at.metric if m.label == "Training time"]
    assert len(trained) == 1 and int(trained[0].removesuffix(" s")) < 60  # far short of its 300 s budget
    assert jobs.REGISTRY.running_count() == 0


def test_a_busy_server_says_so_at_once_with_the_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "1")
    release = threading.Event()

    class Blocking:  # another visitor's job, holding the only slot until released
        def __init__(self, config: TrainConfig, **kwargs: Any) -> None:
            self.config = config

        def run(self) -> TrainResult:
            release.wait(30)
            return TrainResult("finished", "", self.config, nn.Linear(1, 1), 1, 1.0, 1.0, 0.5, 1.0)

    config = TrainConfig(data="synthetic", epochs=None, budget_s=90.0)
    jobs.REGISTRY.start(new_run_id(), lambda: jobs.TrainingJob(
        [jobs.RunSpec("x", config)], trainer_factory=Blocking, train_data=make_synthetic(8),
        test_data=make_synthetic(8, split="test")).start())
    at = open_app_page(PAGE, timeout=60).run()
    assert not at.exception
    (busy,) = [t for t in texts(at, "info") if "busy" in t]
    assert busy.startswith("The server is busy training a model for other visitors (about 1 min 30 s left)")
    assert at.button(key="start").disabled and at.button(key="stop").disabled  # nothing of ours is running
    release.set()


def test_a_reload_reconnects_to_the_run_in_the_url() -> None:
    at = open_app_page(PAGE, timeout=60).run()
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    assert valid_run_id(run_id)
    at.radio(key="data_source").set_value("Synthetic shapes").run()
    at.radio(key="length").set_value("a time budget").run()
    at.number_input(key="budget_s_one").set_value(300).run()
    at.button(key="start").click().run()
    assert jobs.REGISTRY.get(run_id) is not None and jobs.REGISTRY.get(run_id).is_active
    # F5: a new Streamlit session whose only link to the run is the URL.
    reloaded = open_app_page(PAGE, timeout=60)
    reloaded.query_params["run"] = run_id
    reloaded.run()
    assert not reloaded.exception
    assert not reloaded.button(key="stop").disabled  # it is our run: we can stop it
    reloaded.button(key="stop").click().run()
    assert jobs.REGISTRY.get(run_id).join(timeout=20)
    # A fresh tab without the id gets its own run id, not someone else's run.
    other = open_app_page(PAGE, timeout=60).run()
    assert other.query_params["run"] != reloaded.query_params["run"] and other.button(key="stop").disabled


def test_page_finds_cifar10_and_validates_the_folder(cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(cifar10_dir))
    at = open_app_page(PAGE, timeout=60).run()
    assert not at.exception
    assert at.radio(key="data_source").value == "CIFAR-10"
    assert at.text_input(key="data_dir").value == str(cifar10_dir)
    assert any(f"Reading the CIFAR-10 copy at `{cifar10_dir}`" in c for c in texts(at, "caption"))
    assert not at.button(key="start").disabled
    # A folder without CIFAR-10 blocks Start, with words that do not say whether the folder exists.
    (tmp_path / "empty").mkdir()
    at.text_input(key="data_dir").set_value(str(tmp_path / "empty")).run()
    empty = texts(at, "error")
    assert any("No readable CIFAR-10 copy there" in e for e in empty), empty
    assert at.button(key="start").disabled
    at.text_input(key="data_dir").set_value(str(tmp_path / "no such folder")).run()
    assert texts(at, "error") == empty


@pytest.mark.usefixtures("fresh_caches")  # the page caches its CIFAR-10 check by folder text for 60 s
def test_the_folder_box_can_be_turned_off(cifar10_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(cifar10_dir))
    monkeypatch.setenv(DATA_FOLDERS_ENV, "off")
    at = open_app_page(PAGE, timeout=60).run()
    assert not at.exception
    assert not [w for w in at.text_input if w.key == "data_dir"]  # no box to type into
    assert not at.button(key="start").disabled  # the configured copy still trains
