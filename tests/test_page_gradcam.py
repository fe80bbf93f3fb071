"""The Grad-CAM page in Streamlit's AppTest: class, method and layer choices, overlays, warnings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import numpy as np
from streamlit.testing.v1 import AppTest
from webui import pages

from resnet_core.checkpoint import load_checkpoint, save_checkpoint
from resnet_core.cifar10 import CLASSES, MEAN, STD
from resnet_core.models import create_model

import pagetest

pytestmark = pytest.mark.usefixtures("fresh_caches")
PAGE = pages.page("Grad-CAM").path


def run_page(**session: object) -> AppTest:
    return pagetest.run_page(PAGE, 180, **session)


def heatmap(at: AppTest) -> dict:
    """The overlay's heatmap trace, with ``z`` decoded (plotly sends numpy arrays as base64)."""
    (chart,) = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    (trace,) = [t for t in spec["data"] if t["type"] == "heatmap"]
    trace["z"] = pagetest.plotly_array(trace["z"]).astype(np.float32)
    return trace


def captions(at: AppTest) -> list[str]:
    """Captions of the per-stage and per-method tiles."""
    return [" · ".join(c.split(" · ")[:3]) for img in at.get("image") for c in img.captions if "positions" in c]


def class_captions(at: AppTest) -> list[str]:
    """Captions of the top-classes row: "label · probability"."""
    return [c for img in at.get("image") for c in img.captions if c and "positions" not in c]


def subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def test_widgets_overlay_and_rows_for_the_shipped_model(shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    assert at.selectbox(key="gradcam_model").value == "shipped"
    assert at.radio(key="gradcam_method").options == ["Grad-CAM", "Grad-CAM++", "XGrad-CAM", "LayerCAM"]
    assert at.selectbox(key="gradcam_layer").options == ["layer1", "layer2", "layer3"]  # resnet20
    assert at.selectbox(key="gradcam_layer").value == "layer3"
    assert at.slider(key="gradcam_alpha").value == 0.5
    assert at.download_button(key="gradcam_download").label == "Download overlay (PNG)"
    assert at.radio(key="gradcam_colormap").value == "viridis"
    assert at.radio(key="gradcam_scaling").value == "per_map"
    trace = heatmap(at)
    assert trace["opacity"] == 0.5 and trace["z"].shape == (32, 32)
    assert trace["z"].min() >= 0 and trace["z"].max() == pytest.approx(1.0, abs=1e-3)
    assert "map %{z" in trace["hovertemplate"]
    # Viridis by default, drawn as cells like the PNG download, with a colour bar.
    assert trace["colorscale"][0][1] == "rgb(68,1,84)" and trace["colorscale"][-1][1] == "rgb(253,231,37)"
    assert trace["zsmooth"] is False and trace["colorbar"]["title"]["text"] == "per-map scale"
    # The class's probability is in the heading and beside every map.
    assert re.search(r"“\w+” \(\d+\.\d%\) at layer3", subheaders(at)[0])
    assert all(re.search(r"\d+\.\d%$", c) for img in at.get("image") for c in img.captions if c)
    # A row per stage (3 for resnet20) and a row of the four methods.
    assert captions(at) == [
        "layer1 · Grad-CAM · 32x32 positions",
        "layer2 · Grad-CAM · 16x16 positions",
        "layer3 · Grad-CAM · 8x8 positions",
        "layer3 · Grad-CAM · 8x8 positions",
        "layer3 · Grad-CAM++ · 8x8 positions",
        "layer3 · XGrad-CAM · 8x8 positions",
        "layer3 · LayerCAM · 8x8 positions",
    ]


def test_changing_method_layer_class_and_opacity_changes_the_picture(shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    first = heatmap(at)["z"]
    assert subheaders(at)[0].startswith("Grad-CAM for")

    at.radio(key="gradcam_method").set_value("layercam").run()
    assert subheaders(at)[0].startswith("LayerCAM for") and subheaders(at)[-1] == "The four methods at layer3"
    assert not np.allclose(heatmap(at)["z"], first, atol=1e-3)

    at.selectbox(key="gradcam_layer").set_value("layer2").run()
    assert subheaders(at)[0].endswith("at layer2") and subheaders(at)[-1] == "The four methods at layer2"
    assert heatmap(at)["z"].shape == (32, 32)  # still at input size
    assert "layer2 · Grad-CAM++ · 16x16 positions" in captions(at)

    at.radio(key="gradcam_target_mode").set_value("Any class").run()
    at.selectbox(key="gradcam_any_class").set_value("truck").run()
    assert "“truck”" in subheaders(at)[0]

    at.slider(key="gradcam_alpha").set_value(0.8).run()
    assert heatmap(at)["opacity"] == 0.8
    assert not at.exception


def test_a_top_prediction_can_be_chosen(shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    options = at.selectbox(key="gradcam_top_class").options
    assert len(options) == 5
    second = options[1]
    at.selectbox(key="gradcam_top_class").select_index(1).run()
    assert f"“{second.split(' (')[0]}”" in subheaders(at)[0]


def test_a_layer_too_small_for_a_map_is_flagged_on_the_page(no_shipped, hub_dir, sample_photos, tmp_path: Path) -> None:
    # An ImageNet ResNet-18 fed 32x32 inputs: layer4 is 1x1.
    save_checkpoint(tmp_path / "t.pt", create_model("resnet18", num_classes=10).eval(), model_name="resnet18",
                    residual=True, classes=CLASSES, mean=MEAN, std=STD, input_size=32)
    at = run_page(trained_models={"tiny input": load_checkpoint(tmp_path / "t.pt")})
    assert at.selectbox(key="gradcam_model").value == "trained:tiny input"
    assert any("single position (1x1)" in w.value for w in at.warning)
    at.selectbox(key="gradcam_layer").set_value("layer1").run()
    assert not any("single position" in w.value for w in at.warning)


def test_imagenet_model_at_224(no_shipped, cached_resnet18, sample_photos) -> None:
    at = run_page()
    assert at.selectbox(key="gradcam_model").value == "imagenet:resnet18"
    assert heatmap(at)["z"].shape == (224, 224)
    assert captions(at)[:4] == [
        "layer1 · Grad-CAM · 56x56 positions",
        "layer2 · Grad-CAM · 28x28 positions",
        "layer3 · Grad-CAM · 14x14 positions",
        "layer4 · Grad-CAM · 7x7 positions",
    ]


def test_missing_weights_do_not_crash(no_shipped, hub_dir) -> None:
    at = run_page()
    assert any("prefetch --weights resnet18" in w.value for w in at.warning)
    assert at.get("plotly_chart") == [] or len(at.get("plotly_chart")) == 0


def test_a_bad_upload_shows_an_error_and_a_good_one_works(shipped, hub_dir) -> None:
    at = run_page()
    at.radio(key="gradcam_picture_mode").set_value("Upload").run()
    at.file_uploader(key="gradcam_upload").set_value(("photo.heic", b"\x00\x00\x00\x18ftypheic" + bytes(40), "image/heic")).run()
    assert not at.exception and len(at.error) == 1 and "HEIC" in at.error[0].value
    at.file_uploader(key="gradcam_upload").set_value(("red.png", pagetest.png((50, 50), (200, 30, 30)), "image/png")).run()
    assert not at.exception and not at.error and len(at.get("plotly_chart")) == 1


def test_with_no_setting_the_first_view_explains_a_gallery_photo(hub_dir, monkeypatch, tmp_path: Path) -> None:
    """A first visit, offline, nothing configured: a heatmap for the shipped model's top class."""
    pagetest.nothing_configured(monkeypatch, tmp_path)
    at = run_page()
    assert at.selectbox(key="gradcam_sample").value == "Gallery: cat_chelsea.jpg"
    trace = heatmap(at)
    assert trace["z"].max() == pytest.approx(1.0, abs=1e-3) and trace["z"].std() > 0.05  # a real map
    assert any("for “cat”" in s for s in subheaders(at)), subheaders(at)

def test_top_classes_row_and_shared_scale(shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    top = at.selectbox(key="gradcam_top_class").options
    assert [c.split(" · ")[0] for c in class_captions(at)] == [o.split(" (")[0] for o in top]
    assert [c.split(" · ")[1] for c in class_captions(at)] == [o.split(" (")[1].rstrip(")") for o in top]
    # Per map, every class's map reaches 1; on one shared scale only the class with the most
    # evidence does, and the others are dimmer.
    at.radio(key="gradcam_scaling").set_value("shared").run()
    assert heatmap(at)["colorbar"]["title"]["text"] == "shared scale"
    assert "one scale for all" in " ".join(c.value for c in at.caption)
    peaks = {}
    for i in range(len(top)):
        at.selectbox(key="gradcam_top_class").select_index(i).run()
        peaks[i] = float(heatmap(at)["z"].max())
    assert max(peaks.values()) == pytest.approx(1.0, abs=2e-3) and min(peaks.values()) < 0.95
    at.radio(key="gradcam_scaling").set_value("per_map").run()
    assert float(heatmap(at)["z"].max()) == pytest.approx(1.0, abs=2e-3)


def test_colour_maps_can_be_switched(shipped, hub_dir, sample_photos) -> None:
    at = run_page()
    at.radio(key="gradcam_colormap").set_value("jet").run()
    assert heatmap(at)["colorscale"][0][1] == "rgb(0,0,128)"  # jet's dark blue, as in the papers
    at.radio(key="gradcam_colormap").set_value("inferno").run()
    assert heatmap(at)["colorscale"][0][1] == "rgb(0,0,4)"


def test_a_4x4_last_stage_is_explained_and_a_finer_model_preferred(no_shipped, cached_resnet18, sample_photos, tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "r9.pt", create_model("resnet9_w16").eval(), model_name="resnet9_w16",
                    residual=True, classes=CLASSES, mean=MEAN, std=STD)
    at = run_page(trained_models={"r9": load_checkpoint(tmp_path / "r9.pt")})
    # The ImageNet ResNet's 7x7 last stage is preferred for teaching CAMs over ResNet-9's 4x4.
    assert at.selectbox(key="gradcam_model").value == "imagenet:resnet18"
    assert not any("4x4 grid" in i.value for i in at.info)
    at.selectbox(key="gradcam_model").set_value("trained:r9").run()
    (note,) = [i.value for i in at.info if "4x4 grid" in i.value]
    assert "8x8 pixels" in note and "ImageNet ResNet" in note


def test_a_gallery_pick_on_grad_cam_is_the_picture_classify_opens_with(shipped, hub_dir, sample_photos) -> None:
    """Issue 18, item 7: the picture goes the other way too, through session state, not the URL."""
    at = pagetest.open_app_page(pages.page("Classify").path, 180)
    at.run()  # Classify first: its one reading of ?pic= is spent, so only the session can carry the picture
    at.switch_page(PAGE).run()
    at.selectbox(key="gradcam_sample").set_value("Gallery: dog_beagle.jpg").run()
    assert not at.exception
    at.query_params.clear()  # a browser drops the query parameters on a page switch
    at.switch_page(pages.page("Classify").path).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="classify_picture_mode").value == "Sample"
    assert at.selectbox(key="classify_sample").value == "Gallery: dog_beagle.jpg"
    assert at.get("image")[0].captions[0].startswith("Gallery: dog_beagle.jpg")
