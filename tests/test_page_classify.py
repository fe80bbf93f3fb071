"""The Classify page in Streamlit's AppTest: model sources, samples, uploads, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from webui import pages

from resnet_core.checkpoint import load_checkpoint, save_checkpoint
from resnet_core.cifar10 import CLASSES, MEAN, STD
from resnet_core.models import create_model

import pagetest
from pagetest import charts, png

pytestmark = pytest.mark.usefixtures("fresh_caches")
PAGE = pages.page("Classify").path


def run_page(**session: object) -> AppTest:
    return pagetest.run_page(PAGE, 120, **session)


def test_shipped_model_and_a_sample_give_a_top5_chart(shipped, hub_dir, sample_photos, cifar10_dir) -> None:
    at = run_page()
    assert at.selectbox(key="classify_model").value == "shipped"
    assert at.radio(key="classify_picture_mode").value == "Sample"
    samples = at.selectbox(key="classify_sample").options
    assert samples[0] == "Gallery: cat_chelsea.jpg"  # the gallery first, then your photos, then CIFAR-10
    assert any(o.startswith("Photo: ") for o in samples) and any(o.startswith("CIFAR-10 test") for o in samples)
    (bars,) = charts(at)
    labels = bars["data"][0]["y"]
    probs = bars["data"][0]["x"]
    assert len(labels) == 5 and set(labels) <= set(CLASSES) and probs == sorted(probs)  # best on top
    text = " ".join(m.value for m in at.markdown)
    assert "**Model:** CIFAR-10 resnet20 (shipped" in text
    assert "centre crop 32x32" in text and "**Latency:**" in text and " ms " in text

    cifar = next(o for o in samples if o.startswith("CIFAR-10 test") and "ship" in o)
    at.selectbox(key="classify_sample").set_value(cifar).run()
    assert not at.exception
    assert at.get("image")[0].captions[0].startswith(cifar)
    assert "true class: **ship**" in " ".join(m.value for m in at.markdown)


def test_without_the_shipped_model_or_weights_the_page_explains(no_shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    assert "not in this install" in at.info[0].value
    assert any("python -m resnet_core prefetch --weights resnet18" in w.value for w in at.warning)
    assert at.button(key="classify_download").label.startswith("Download resnet18 weights")
    assert charts(at) == []


def test_without_the_shipped_model_a_cached_imagenet_model_is_the_default(no_shipped, cached_resnet18, sample_photos) -> None:
    at = run_page()
    assert at.selectbox(key="classify_model").value == "imagenet:resnet18"
    (bars,) = charts(at)
    assert len(bars["data"][0]["y"]) == 5
    text = " ".join(m.value for m in at.markdown)
    assert "IMAGENET1K_V1" in text and "centre crop 224x224" in text


def test_a_model_trained_this_session_is_offered(no_shipped, hub_dir, tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "t.pt", create_model("resnet9").eval(), model_name="resnet9", residual=True,
                    classes=CLASSES, mean=MEAN, std=STD)
    at = run_page(trained_models={"run 1": load_checkpoint(tmp_path / "t.pt")})
    assert at.selectbox(key="classify_model").value == "trained:run 1"
    at.radio(key="classify_picture_mode").set_value("Upload").run()
    at.file_uploader(key="classify_upload").set_value(("blue.png", png(), "image/png")).run()
    assert not at.exception and not at.error
    assert len(charts(at)) == 1
    assert "run 1 (resnet9, trained this session)" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("notes.jpg", b"this is not a photo at all" * 4, "not an image"),
        ("empty.png", b"", "empty"),
        ("cut.png", png((200, 200))[:300], "truncated or corrupt"),
    ],
)
def test_a_bad_upload_shows_an_error_and_the_page_stays_usable(shipped, hub_dir, name, data, message) -> None:
    at = run_page()
    at.radio(key="classify_picture_mode").set_value("Upload").run()
    at.file_uploader(key="classify_upload").set_value((name, data, "image/jpeg")).run()
    assert not at.exception
    assert len(at.error) == 1 and name in at.error[0].value and message in at.error[0].value
    assert charts(at) == []
    # A good file afterwards works in the same session.
    at.file_uploader(key="classify_upload").set_value(("good.png", png(), "image/png")).run()
    assert not at.exception and not at.error and len(charts(at)) == 1


def test_with_no_setting_the_first_view_classifies_a_gallery_photo(hub_dir, monkeypatch, tmp_path: Path) -> None:
    """A first visit, offline, nothing configured: the real shipped model on the preselected photo."""
    pagetest.nothing_configured(monkeypatch, tmp_path)
    at = run_page()
    assert at.radio(key="classify_picture_mode").value == "Sample"
    samples = at.selectbox(key="classify_sample").options
    assert at.selectbox(key="classify_sample").value == samples[0] == "Gallery: cat_chelsea.jpg"
    assert all(o.startswith("Gallery: ") for o in samples) and len(samples) >= 8
    (bars,) = charts(at)
    assert bars["data"][0]["y"][-1] == "cat"  # top guess (best on top = last bar)
    assert "Top guess: **cat**" in " ".join(m.value for m in at.markdown)


def test_without_any_samples_only_upload_is_offered(shipped, hub_dir, monkeypatch, tmp_path: Path) -> None:
    import resnet_core.samples as samples_module

    monkeypatch.setattr(samples_module, "GALLERY_DIR", tmp_path / "trimmed install")
    pagetest.nothing_configured(monkeypatch, tmp_path)
    at = run_page()
    assert at.radio(key="classify_picture_mode").options == ["Upload", "Camera"]
    assert charts(at) == []
    assert not any("RESNET_SAMPLES_DIR" in c.value for c in at.caption)


def test_a_damaged_shipped_checkpoint_is_reported_not_raised(shipped, hub_dir, sample_photos) -> None:
    shipped.write_bytes(b"PK\x03\x04 half a zip file")
    at = run_page()
    assert len(at.error) == 1 and "shipped CIFAR-10 model cannot be loaded" in at.error[0].value
    assert charts(at) == []


def test_weights_downloaded_from_the_page_make_the_model_usable(no_shipped, hub_dir, sample_photos, tmp_path, monkeypatch) -> None:
    import hashlib

    import torch
    import torchvision

    from resnet_core import pretrained

    # A file:// "server" holding torchvision-format weights under a name with the right hash prefix.
    staged = tmp_path / "staged.pth"
    torch.save(torchvision.models.resnet18().state_dict(), staged)
    digest = hashlib.sha256(staged.read_bytes()).hexdigest()
    served = staged.rename(tmp_path / f"resnet18-{digest[:8]}.pth")
    monkeypatch.setattr(pretrained, "_weights_url", lambda name, version="IMAGENET1K_V1": served.as_uri())

    at = run_page()
    assert charts(at) == []
    at.button(key="classify_download").click().run()
    assert not at.exception and not at.error
    assert at.selectbox(key="classify_model").value == "imagenet:resnet18"
    assert len(charts(at)) == 1
    assert (hub_dir / "checkpoints" / served.name).is_file()


def test_a_failed_download_on_the_page_shows_the_prefetch_command(no_shipped, hub_dir, sample_photos, monkeypatch) -> None:
    from resnet_core import pretrained

    monkeypatch.setattr(pretrained, "_weights_url", lambda name, version="IMAGENET1K_V1": "http://127.0.0.1:9/resnet18-f37072fd.pth")
    at = run_page()
    at.button(key="classify_download").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "prefetch --weights resnet18" in at.error[0].value


def image_captions(at: AppTest) -> list[str]:
    return [c for img in at.get("image") for c in img.captions]


def test_the_page_shows_the_tensor_the_model_receives_and_what_it_means(shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    at.selectbox(key="classify_sample").set_value("Photo: automobile_taxis.jpg").run()
    shown = image_captions(at)
    assert shown[0].startswith("Photo: automobile_taxis.jpg (1280x853). Inside the box")
    assert shown[1].startswith("What the model receives: a 32x32 tensor, shape (1, 3, 32, 32)")
    text = " ".join(m.value for m in at.markdown)
    assert "The photo became 48x32 before the crop" in text  # a third of the taxi photo is cut away
    assert "**It must choose.** This model knows 10 classes (airplane, automobile," in text
    # The stand-in shipped model records no label smoothing: the page says so instead of guessing.
    assert "not recorded" in text
    boxes = [*at.success, *at.info, *at.warning]
    assert any(b.value.startswith(("Confident:", "Unsure:", "Low confidence:")) for b in boxes)


def test_a_picture_of_none_of_the_classes_is_answered_with_one_of_them_and_flagged(shipped, cached_resnet18, sample_photos) -> None:
    at = run_page()
    at.selectbox(key="classify_sample").set_value("Photo: rocket_not_cifar.jpg").run()
    assert not at.exception
    # A rocket still gets a CIFAR-10 label; the page says the model had to pick one.
    assert 'it has no "none of these"' in " ".join(m.value for m in at.markdown)
    # A known label that is not among the model's classes is flagged in words.
    at.selectbox(key="classify_model").set_value("imagenet:resnet18").run()
    at.selectbox(key="classify_sample").set_value("Photo: automobile_taxis.jpg").run()
    assert any("“automobile” is not one of this model's classes" in w.value and "out of its distribution" in w.value
               for w in at.warning)
    assert "1,000 classes" in " ".join(m.value for m in at.markdown)


def test_label_smoothing_explains_the_confidence_ceiling(no_shipped, hub_dir, tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "s.pt", create_model("resnet20").eval(), model_name="resnet20", residual=True,
                    classes=CLASSES, mean=MEAN, std=STD, config={"label_smoothing": 0.2})
    at = run_page(trained_models={"smoothed": load_checkpoint(tmp_path / "s.pt")})
    at.radio(key="classify_picture_mode").set_value("Upload").run()
    at.file_uploader(key="classify_upload").set_value(("blue.png", png(), "image/png")).run()
    text = " ".join(m.value for m in at.markdown)
    assert "label smoothing 0.2: its target for the right class was 82%" in text
    (bars,) = charts(at)
    assert any(shape.get("x0") == pytest.approx(0.82) for shape in bars["layout"]["shapes"])  # the ceiling, drawn


def test_every_stage_is_shown_with_its_shape(shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    stages = [c for c in image_captions(at) if "strongest channels" in c]
    # The stand-in resnet20: the stem and three stages, resolution falling, channels growing.
    assert [c.split(";")[0] for c in stages] == [
        "stem: output 16 x 32 x 32",
        "layer1: output 16 x 32 x 32",
        "layer2: output 32 x 16 x 16",
        "layer3: output 64 x 8 x 8",
    ]
    assert "train both on the Train page" in " ".join(c.value for c in at.caption)


def test_plain_and_residual_twins_side_by_side(no_shipped, hub_dir, tmp_path: Path) -> None:
    trained = {}
    for residual in (True, False):
        path = tmp_path / f"{residual}.pt"
        save_checkpoint(path, create_model("resnet20", residual=residual).eval(), model_name="resnet20",
                        residual=residual, classes=CLASSES, mean=MEAN, std=STD)
        trained[f"{'residual' if residual else 'plain'} resnet20"] = load_checkpoint(path)
    at = run_page(trained_models=trained)
    at.selectbox(key="classify_model").set_value("trained:plain resnet20").run()
    at.radio(key="classify_picture_mode").set_value("Upload").run()
    at.file_uploader(key="classify_upload").set_value(("blue.png", png(), "image/png")).run()
    text = " ".join(m.value for m in at.markdown)
    # The residual network on the left, its plain twin on the right, whichever was picked.
    assert text.index("**Residual:** residual resnet20") < text.index("**Plain twin:** plain resnet20")
    assert len([c for c in image_captions(at) if "strongest channels" in c]) == 8


def test_the_camera_is_offered(shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    assert at.radio(key="classify_picture_mode").options == ["Sample", "Upload", "Camera"]
    at.radio(key="classify_picture_mode").set_value("Camera").run()
    assert not at.exception and charts(at) == []  # nothing to classify until a picture is taken
    assert at.get("camera_input")[0].label == "Take a picture"


def test_an_upload_on_classify_is_the_picture_grad_cam_opens_with_and_classify_keeps(shipped, hub_dir, sample_photos) -> None:
    """Issue 18, item 7: one picture through the pages, held in session state (not on disk, not in the URL)."""
    colour = (200, 40, 160)
    at = run_page()
    at.radio(key="classify_picture_mode").set_value("Upload").run()
    at.file_uploader(key="classify_upload").set_value(("mine.png", png((90, 60), colour), "image/png")).run()
    assert image_captions(at)[0].startswith("mine.png (90x60)")
    assert "pic" not in at.query_params

    at.switch_page(pages.page("Grad-CAM").path).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="gradcam_picture_mode").value == "Upload"
    assert any("Showing “mine.png”" in c.value for c in at.caption)
    view = pagetest.chart_image(at)
    assert view.shape == (32, 32, 3) and np.all(view == colour)  # the upload's pixels, under the heatmap

    at.switch_page(PAGE).run()  # back: Classify still shows it
    assert not at.exception and not at.error
    assert at.radio(key="classify_picture_mode").value == "Upload"
    assert image_captions(at)[0].startswith("mine.png (90x60)") and len(charts(at)) == 1

    at.file_uploader(key="classify_upload").set_value(("other.png", png((30, 30)), "image/png")).run()
    at.file_uploader(key="classify_upload").set_value(None).run()  # taken out: gone on every page
    assert charts(at) == [] and not any("Showing" in c.value for c in at.caption)
    at.switch_page(pages.page("Grad-CAM").path).run()  # which opens on the gallery's default again
    assert at.radio(key="gradcam_picture_mode").value == "Sample" and not any("Showing" in c.value for c in at.caption)


def test_an_out_of_distribution_answer_is_never_a_success(no_shipped, hub_dir, sample_photos, tmp_path: Path) -> None:
    """However confident, an answer outside the classes the picture can be is drawn as a warning."""
    import torch

    model = create_model("resnet9", num_classes=2).eval()
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.copy_(torch.tensor([12.0, 0.0]))  # "circle", confidently, for any picture
    save_checkpoint(tmp_path / "shapes.pt", model, model_name="resnet9", residual=True,
                    classes=("circle", "square"), mean=MEAN, std=STD)
    at = run_page(trained_models={"shapes": load_checkpoint(tmp_path / "shapes.pt")})
    at.selectbox(key="classify_sample").set_value("Gallery: cat_chelsea.jpg").run()
    assert not at.exception
    assert not at.success, [s.value for s in at.success]
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Confident: circle at ") for w in warnings), warnings
    assert any("“cat” is not one of this model's classes" in w for w in warnings)
