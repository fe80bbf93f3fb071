"""The Why-it-works page through AppTest: every experiment renders, says what it measured, and copes
with missing trained nets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pagetest import charts, open_app_page, run_page
from streamlit.testing.v1 import AppTest
from webui import pages

from resnet_core.checkpoint import load_checkpoint
from resnet_core.models import create_model

PAGE = pages.page("Why it works").path
pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(autouse=True)
def synthetic_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CIFAR-10 (an empty data dir), so the page's fallback is what is tested and runs stay small."""
    monkeypatch.setenv("RESNET_DATA_DIR", str(tmp_path / "no-cifar"))
    monkeypatch.setenv("RESNET_CACHE_DIR", str(tmp_path / "cache"))


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def choose(at: AppTest, experiment: str) -> AppTest:
    at.radio(key="why_experiment").set_value(experiment).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
def test_untrained_experiments_draw_plain_and_residual_side_by_side() -> None:
    at = open_app_page(PAGE)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Why the shortcut works"
    figs = charts(at)
    assert [f["layout"]["title"]["text"] for f in figs] == ["Plain nets", "Residual nets"]
    assert [t["name"] for t in figs[0]["data"]] == ["plain-20", "plain-56", "plain-110"]
    assert figs[0]["layout"]["yaxis"]["type"] == "log"
    assert "they **grow**" in text(at)  # measured on this run, not written in advance
    assert any("Synthetic shapes" in c.value for c in at.caption)  # says which data it used

    with pytest.raises(KeyError):  # only the chosen experiment is on the page (and computed)
        at.number_input(key="lesion_seed")
    at.multiselect(key="why_depths").set_value([20, 56]).run()
    choose(at, "shattered")
    assert at.multiselect(key="why_depths").value == [20, 56]  # the choice carries over
    figs = charts(at)
    assert len(figs) == 3  # plain lines, residual lines, correlation against depth
    assert "Neighbour correlation at depth 56" in text(at)
    assert "Balduzzi" in " ".join(c.value for c in at.caption)

    at.multiselect(key="why_kinds").set_value(["residual"]).run()
    assert [f["layout"]["title"]["text"] for f in charts(at)][:1] == ["Residual nets"]


@pytest.mark.slow
@pytest.mark.usefixtures("shipped_race_nets")
def test_trained_experiments_on_the_shipped_pair() -> None:
    at = run_page(PAGE)
    choose(at, "lesion")
    assert at.selectbox(key="lesion_plain").value == "plain-56 (shipped)"
    assert at.selectbox(key="lesion_residual").value == "ResNet-56 (shipped)"
    figs = charts(at)
    assert [f["layout"]["title"]["text"] for f in figs] == ["plain-56", "ResNet-56", "Deleting several blocks at once"]
    kept = figs[0]["data"][0]["text"]
    assert kept.count("kept") == 2  # plain-56's two reshaping blocks cannot be deleted
    # The chance and intact lines are named in the right margin, beside the plot, not over its bars.
    labels = {a["text"]: a for a in figs[0]["layout"]["annotations"]}
    assert {"chance<br>10 %"} <= set(labels) and all(a["xref"] == "paper" and a["x"] >= 1 for a in labels.values())
    assert "intact" in text(at) and "CIFAR-10 is not on this machine" not in " ".join(w.value for w in at.warning)

    choose(at, "responses")
    figs = charts(at)
    assert [t["name"] for t in figs[0]["data"]] == ["plain-20", "plain-56", "ResNet-20", "ResNet-56"]
    assert "for the median layer" in text(at)


    choose(at, "landscape")
    figs = charts(at)
    assert figs[0]["layout"]["yaxis"]["type"] == "log" and len(figs[0]["data"]) == 4  # two curves, their minima
    ticks = figs[0]["layout"]["yaxis"]["ticktext"]
    assert len(set(ticks)) == len(ticks)  # one label per tick: 1, 2, 5, 10, 20 or, diverged, one per decade
    assert "at the trained weights" in text(at)


@pytest.mark.usefixtures("no_race_nets")
def test_without_trained_nets_the_page_says_what_is_missing() -> None:
    at = run_page(PAGE)
    choose(at, "lesion")
    warning = " ".join(w.value for w in at.warning)
    assert "plain56.pt" in warning and "resnet56.pt" in warning and "Train page" in warning
    assert len(at.get("plotly_chart")) == 0
    assert sum("No trained" in i.value for i in at.info) == 2


@pytest.mark.slow
@pytest.mark.usefixtures("no_race_nets")
def test_networks_trained_on_the_train_page_are_offered(race_nets: Path) -> None:
    mine = {"my plain": load_checkpoint(race_nets / "plain20.pt"), "my resnet": load_checkpoint(race_nets / "resnet20.pt")}
    at = run_page(PAGE, trained_models=mine)
    choose(at, "landscape")
    assert at.selectbox(key="landscape_plain").value == "my plain (trained this session)"
    assert len([t for t in charts(at)[0]["data"] if t["mode"] == "lines+markers"]) == 2  # and each one's local minima


@pytest.mark.slow
@pytest.mark.usefixtures("no_race_nets")
def test_a_resnet9_from_the_train_page_gets_a_reason_not_a_crash(race_nets: Path) -> None:
    torch.manual_seed(0)
    from resnet_core.checkpoint import Checkpoint
    from resnet_core.cifar10 import CLASSES, MEAN, STD

    r9 = Checkpoint(model=create_model("resnet9_w16").eval(), model_name="resnet9_w16", residual=True,
                    classes=CLASSES, mean=MEAN, std=STD, input_size=32, config={"data": "synthetic"})
    mine = {"plain": load_checkpoint(race_nets / "plain20.pt"), "r9": r9}
    at = run_page(PAGE, trained_models=mine)
    choose(at, "lesion")
    assert any("ResNet-9" in w.value for w in at.warning)


def test_the_paper_scale_runs_as_a_job_under_the_servers_slot() -> None:
    """A heavy setting is no longer computed in the page: Run starts an InsightJob among RUNS,
    which takes the one slot (a training would be refused meanwhile), and its result is drawn."""
    from pagetest import wait_for

    from resnet_core import jobs

    at = open_app_page(PAGE)
    at.run()
    at.multiselect(key="why_depths").set_value([20]).run()
    at.radio(key="why_scale").set_value("paper").run()
    assert not at.exception
    assert not charts(at)  # nothing computed in the page thread
    assert "runs in the background" in " ".join(i.value for i in at.info)
    run = at.query_params["run"]
    at.button(key="why_run").click().run()
    job = jobs.RUNS.get(run)
    assert isinstance(job, jobs.InsightJob)
    try:
        assert job.is_active and not jobs.RUNS.availability().free  # the slot is taken, as by a training
        wait_for(at, lambda a: len(charts(a)) == 2, timeout=120)
        assert [t["name"] for t in charts(at)[0]["data"]] == ["plain-20"]
        assert not job.is_active and jobs.RUNS.availability().free
        at.radio(key="why_scale").set_value("quick").run()
        at.radio(key="why_scale").set_value("paper").run()
        assert len(charts(at)) == 2  # this session keeps the result: back to it at once
    finally:
        jobs.RUNS.forget(run)


def test_the_loss_slice_rings_the_local_minima_its_sentences_count() -> None:
    from resnet_core.insight.results import LandscapeResult
    from resnet_core.insight.verdicts import landscape, local_minima
    from webui.figures.insight import landscape_figure

    alphas = tuple(i / 4 - 1 for i in range(9))
    bumpy = LandscapeResult(model="resnet56", residual=False, alphas=alphas, images=8, losses=(2.5, 2.2, 2.4, 2.1, 1.9, 2.3, 2.0, 2.6, 2.4),
                            accs=(0.1,) * 9)
    valley = LandscapeResult(model="resnet56", residual=True, alphas=alphas, images=8, losses=(19.0, 6.0, 2.8, 1.6, 1.3, 1.7, 3.0, 7.0, 18.0),
                             accs=(0.5,) * 9)
    fig = landscape_figure([("plain-56", bumpy), ("ResNet-56", valley)], "loss")
    rings = {t.name: t for t in fig.data if t.marker.symbol == "circle-open"}
    assert [len(t.x) for t in rings.values()] == [local_minima(bumpy.losses), local_minima(valley.losses)] == [3, 1]
    assert list(rings) == ["plain-56: 3 local minima", "ResNet-56: 1 local minimum"]
    assert rings["ResNet-56: 1 local minimum"].x == (0.0,)  # the valley's floor, at the trained weights
    assert "smoother" in landscape({"plain-56": bumpy, "ResNet-56": valley})[-1]
    assert fig.layout.yaxis.ticktext == ("1", "2", "5", "10", "20")
