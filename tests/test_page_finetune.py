"""The Fine-tune page in Streamlit's AppTest: classes, uploads, zip, camera, training, hand-off,
and its run among the server's runs: a reload through ``?run=``, the slot shared with Train, the
sidebar's heartbeat.

AppTest does not fire ``st.fragment(run_every=...)`` on a timer, so the tests poll by rerunning
the script, which is what the browser's fragment reruns amount to.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Iterator

import pytest
from fakes import blocking_trainer
from pagetest import open_app_page, wait_for
from pictures import dataset_zip, shape_files, shape_picture, zip_bytes
from streamlit.testing.v1 import AppTest

from resnet_core.data import make_synthetic
from resnet_core.finetune import FinetuneConfig, FinetuneStopped
from resnet_core.jobs import RUNS, FinetuneJob, TrainingJob, new_run_id
from resnet_core.train import TrainConfig
from resnet_core.userdata import read_pictures
from webui import pages

PAGE = pages.page("Fine-tune").path


@pytest.fixture(autouse=True)
def no_run_left() -> Iterator[None]:
    """Each test leaves the server's runs as it found them: nothing running, nothing kept."""
    yield
    RUNS.stop_all(timeout=30)


def page() -> AppTest:
    at = open_app_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def add_class(at: AppTest, name: str) -> AppTest:
    at.text_input(key="ft_class_name").set_value(name)
    at.button[[b.label for b in at.button].index("Add class")].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, class_name: str, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key=f"ft_upload_{class_name}").set_value([(n, d, "image/png") for n, d in files]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def counts(at: AppTest) -> dict[str, int]:
    """Class -> picture count, read from the page's per-class headings."""
    out = {}
    for md in at.markdown:
        if " · " in md.value and md.value.startswith("**"):
            name, rest = md.value.split(" · ")
            out[name.strip("*")] = int(rest.split()[0])
    return out


def run_of(at: AppTest) -> str:
    """The run id the page wrote into its URL."""
    value = at.query_params["run"]
    return value[0] if isinstance(value, list) else value


def finished(at: AppTest) -> bool:
    job = RUNS.get(run_of(at))
    return job is not None and job.snapshot().finished and any(m.label == "Held-out accuracy" for m in at.metric)


def test_page_starts_empty_with_the_shipped_backbone_and_train_disabled() -> None:
    at = page()
    assert any("No classes yet" in i.value for i in at.info)
    assert at.selectbox(key="ft_backbone").value == "shipped"
    assert at.button(key="ft_train").disabled


@pytest.mark.slow
def test_classes_uploads_train_and_hand_off_to_classify() -> None:
    at = page()
    files = shape_files(per_class=6)
    for name in files:
        add_class(at, name)
        upload(at, name, files[name])
    assert counts(at) == {"circle": 6, "square": 6}
    at.run()  # a rerun returns the same uploads again: they must not be added twice
    assert counts(at) == {"circle": 6, "square": 6}
    assert not at.button(key="ft_train").disabled

    at.button(key="ft_train").click().run()
    wait_for(at, finished, timeout=90)
    accuracy = next(m for m in at.metric if m.label == "Held-out accuracy")
    assert accuracy.value == "100%"  # red circles against blue squares
    assert at.get("plotly_chart"), "the history and confusion-matrix charts are drawn"
    assert at.get("download_button")
    offered = at.session_state["trained_models"]
    label, checkpoint = next(iter(offered.items()))
    assert label.startswith("Fine-tuned: circle, square") and checkpoint.classes == ("circle", "square")

    assert "(100% on held-out pictures, " in label  # the share of pictures right, not of pictures held out
    # Each hand-off button opens its page with the fine-tuned model picked, and it classifies a new picture.
    for target, prefix in ((pages.page("Classify").path, "classify"), (pages.page("Grad-CAM").path, "gradcam")):
        at.switch_page(PAGE).run()
        at.button(key=f"ft_open_{prefix}").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.selectbox(key=f"{prefix}_model").value == f"trained:{label}"
        at.switch_page(target)  # AppTest's next run would be the page it last switched to itself
        at.radio(key=f"{prefix}_picture_mode").set_value("Upload").run()
        at.file_uploader(key=f"{prefix}_upload").set_value(("c.png", shape_picture("circle", 99), "image/png")).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        if prefix == "classify":
            assert any("Top guess: **circle**" in m.value for m in at.markdown)
    assert any("“circle”" in s.value for s in at.subheader), "Grad-CAM explains the fine-tuned model's class"
    assert at.get("plotly_chart")


def test_zip_of_class_folders_adds_classes_and_reports_skipped_files() -> None:
    at = page()
    data = dataset_zip(prefix="pets/", per_class=3)
    with_junk = zip_bytes({"pets/circle/readme.txt": b"not a picture"})
    at.file_uploader(key="ft_zip").set_value(("pets.zip", data, "application/zip")).run()
    assert counts(at) == {"circle": 3, "square": 3}
    at.file_uploader(key="ft_zip").set_value(("junk.zip", with_junk, "application/zip")).run()
    assert not at.exception
    assert any("Skipped 1 file" in w.value and "readme.txt" in w.value for w in at.warning)
    assert counts(at) == {"circle": 3, "square": 3}


def test_a_zip_with_a_traversal_path_is_an_error_and_keeps_the_pictures() -> None:
    at = page()
    add_class(at, "mug")
    upload(at, "mug", shape_files(("circle",), per_class=2)["circle"])
    evil = zip_bytes({"../../etc/cron.d/x.png": shape_picture("square", 0)})
    at.file_uploader(key="ft_zip").set_value(("evil.zip", evil, "application/zip")).run()
    assert not at.exception
    assert any("unsafe path" in e.value for e in at.error)
    assert counts(at) == {"mug": 2}


def test_duplicate_and_empty_class_names_are_errors() -> None:
    at = page()
    add_class(at, "Mug")
    add_class(at, "mug ")
    assert any("already a class called 'Mug'" in e.value for e in at.error)
    add_class(at, "   ")
    assert any("needs a name" in e.value for e in at.error)
    assert counts(at) == {"Mug": 0}


def test_a_class_with_one_picture_explains_why_train_is_disabled() -> None:
    at = page()
    files = shape_files(per_class=2)
    add_class(at, "circle")
    upload(at, "circle", files["circle"])
    add_class(at, "square")
    upload(at, "square", files["square"][:1])
    assert any("at least 2 readable pictures" in i.value and "'square' (1)" in i.value for i in at.info)
    assert at.button(key="ft_train").disabled


def test_non_image_upload_is_skipped_with_a_warning() -> None:
    at = page()
    add_class(at, "circle")
    upload(at, "circle", [("notes.png", b"this is text"), ("ok.png", shape_picture("circle", 1))])
    assert counts(at) == {"circle": 1}
    assert any("notes.png was skipped" in w.value for w in at.warning)


def test_camera_picture_is_added_once() -> None:
    at = page()
    add_class(at, "circle")
    at.toggle(key="ft_camera_on_circle").set_value(True).run()
    at.camera_input(key="ft_camera_circle").set_value(("shot.jpg", shape_picture("circle", 3, fmt="JPEG"), "image/jpeg"))
    at.run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert counts(at) == {"circle": 1}


def test_missing_imagenet_weights_offer_the_shipped_backbone(hub_dir) -> None:
    at = page()
    at.selectbox(key="ft_backbone").set_value("resnet18").run()
    warning = " ".join(w.value for w in at.warning)
    assert "prefetch --weights resnet18" in warning and "shipped" in warning
    assert at.button(key="ft_train").disabled


def train_two_classes(at: AppTest, per_class: int = 4) -> AppTest:
    """Add circles and squares through the page, press Train, rerun until the results are drawn."""
    for name, files in shape_files(per_class=per_class).items():
        add_class(at, name)
        upload(at, name, files)
    at.button(key="ft_train").click().run()
    return wait_for(at, finished, timeout=90)


def chart_data(at: AppTest) -> list[dict]:
    """The traces of every Plotly chart on the page, as the browser would receive them."""
    return [trace for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]]


def test_a_reload_with_the_run_in_the_url_shows_the_finished_fine_tune() -> None:
    at = train_two_classes(page())
    run = run_of(at)
    result = RUNS.get(run).snapshot().result
    # F5: a new Streamlit session whose only link to the run is the URL; the pictures were the old session's.
    reloaded = open_app_page(PAGE)
    reloaded.query_params["run"] = run
    reloaded.run()
    assert not reloaded.exception, [e.value for e in reloaded.exception]
    assert run_of(reloaded) == run
    assert {m.label: m.value for m in reloaded.metric}["Held-out accuracy"] == f"{result.val_acc:.0%}"
    heatmaps = [t for t in chart_data(reloaded) if t.get("type") == "heatmap"]
    assert [h["z"] for h in heatmaps] == [[list(row) for row in result.confusion]]
    assert reloaded.get("download_button")
    (label,) = reloaded.session_state["trained_models"]  # offered to Classify and Grad-CAM again
    assert label.startswith("Fine-tuned: circle, square")
    assert any("are not kept" in c.value for c in reloaded.caption)
    # A fresh tab without the id gets its own run, not this one.
    other = page()
    assert run_of(other) != run and not any(m.label == "Held-out accuracy" for m in other.metric)


def test_a_training_holds_the_slot_and_its_run_id_is_not_the_fine_tunes() -> None:
    release = threading.Event()

    Blocking = blocking_trainer(release)  # a training on the Train page, holding the only slot until released

    training_run = new_run_id()
    training = TrainingJob(TrainConfig(data="synthetic"), trainer_factory=Blocking, train_data=make_synthetic(8),
                           test_data=make_synthetic(8, split="test"))
    RUNS.start(training_run, training.start)
    try:
        at = open_app_page(PAGE)
        at.query_params["run"] = training_run  # the Train page's URL, pasted onto the Fine-tune page
        at.run()
        assert not at.exception
        assert run_of(at) != training_run  # not this page's run: neither shown nor replaced
        for name, files in shape_files(per_class=2).items():
            add_class(at, name)
            upload(at, name, files)
        (busy,) = [i.value for i in at.info if "busy" in i.value]
        assert busy.startswith("The server is busy training a model") and "trainings and fine-tunes together" in busy
        assert at.button(key="ft_train").disabled and at.button(key="ft_stop").disabled
    finally:
        release.set()
    assert training.join(30)
    at.run()
    assert not [i for i in at.info if "busy" in i.value] and not at.button(key="ft_train").disabled
    assert RUNS.get(training_run) is training  # the training's results are still there for its tab


def test_the_sidebar_keeps_a_running_fine_tune_alive_from_other_pages() -> None:
    def waits_for_stop(*args: Any, stop: threading.Event, **kwargs: Any) -> Any:
        stop.wait(30)
        raise FinetuneStopped("stopped while computing features")

    run = new_run_id()
    job = FinetuneJob(read_pictures(shape_files(per_class=2)), lambda: "a backbone", FinetuneConfig(),
                      finetune_fn=waits_for_stop)
    RUNS.start(run, job.start)
    at = open_app_page(pages.page("Architecture").path)
    at.session_state["run_id_finetune"] = run  # this tab started it on the Fine-tune page
    at.run()
    assert not at.exception
    assert any(c.value.startswith("Your fine-tuning run: time left not known yet (Fine-tune page)")
               for c in at.sidebar.caption)
    assert not any("training run" in c.value for c in at.sidebar.caption)  # no Train run in this tab
