"""The Fine-tune page in Streamlit's AppTest: classes, uploads, zip, camera, training, hand-off.

AppTest does not fire ``st.fragment(run_every=...)`` on a timer, so the tests poll by rerunning
the script, which is what the browser's fragment reruns amount to.
"""

from __future__ import annotations


import pytest
from pagetest import open_app_page, wait_for
from pictures import dataset_zip, shape_files, shape_picture, zip_bytes
from streamlit.testing.v1 import AppTest
from webui import pages

PAGE = pages.page("Fine-tune").path


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


def finished(at: AppTest) -> bool:
    job = at.session_state["ft_job"] if "ft_job" in at.session_state else None
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

    # Classify and Grad-CAM offer it, and use it on a new picture.
    for page_file, prefix in ((pages.page("Classify").path, "classify"), (pages.page("Grad-CAM").path, "gradcam")):
        at.switch_page(page_file).run()
        at.selectbox(key=f"{prefix}_model").set_value(f"trained:{label}").run()
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
