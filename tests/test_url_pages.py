"""Every page keeps its view in the URL: a link opens the same settings; a bad parameter is a note."""

from __future__ import annotations

import pytest
from pagetest import open_app_page
from streamlit.testing.v1 import AppTest
from webui import pages

TIMEOUT = 180  # a cold page imports torch and builds models on 2 busy cores

# page, the URL's parameters, and what each widget (kind, key) must then show
VIEWS = [
    ("Architecture", {"model": "resnet50", "plain": "1"}, {("selectbox", "variant"): "resnet50", ("toggle", "residual"): False}),
    ("Train", {"mode": "twins", "scale": "paper", "seed": "7"},
     {("radio", "mode"): "twins", ("radio", "scale"): "paper", ("number_input", "race_seed"): 7}),
    ("Why it works", {"exp": "gradient-flow", "nets": "residual"},
     {("radio", "why_experiment"): "gradient-flow", ("multiselect", "why_kinds"): ["residual"]}),
    ("Classify", {"pic": "Gallery: dog_beagle.jpg"},
     {("radio", "classify_picture_mode"): "Sample", ("selectbox", "classify_sample"): "Gallery: dog_beagle.jpg"}),
    ("Grad-CAM", {"pic": "Gallery: airplane_sky.jpg", "cls": "dog", "layer": "layer2", "method": "layercam",
                  "cmap": "jet", "shared": "1"},
     {("selectbox", "gradcam_sample"): "Gallery: airplane_sky.jpg", ("selectbox", "gradcam_layer"): "layer2",
      ("radio", "gradcam_method"): "layercam", ("radio", "gradcam_colormap"): "jet",
      ("radio", "gradcam_scaling"): "shared"}),
    ("Fine-tune", {"backbone": "resnet18", "mode": "last-stage"},
     {("selectbox", "ft_backbone"): "resnet18", ("radio", "ft_mode"): "last-stage"}),
]


def opened(label: str, params: dict[str, str]) -> AppTest:
    at = open_app_page(pages.page(label).path, TIMEOUT)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def widget(at: AppTest, kind: str, key: str):  # noqa: ANN201 - an AppTest element
    return getattr(at, kind)(key=key)


@pytest.mark.parametrize(("label", "params", "shown"), VIEWS, ids=[v[0] for v in VIEWS])
def test_a_link_opens_the_same_view(label: str, params: dict[str, str], shown: dict) -> None:
    at = opened(label, params)
    for (kind, key), value in shown.items():
        assert widget(at, kind, key).value == value, key
    for name, value in params.items():
        assert at.query_params[name] == value, name  # and the URL still says so
    assert not [c.value for c in at.caption if "`?" in c.value]


def test_grad_cam_opens_on_the_linked_class() -> None:
    at = opened("Grad-CAM", {"pic": "Gallery: airplane_sky.jpg", "cls": "dog"})
    assert "“dog”" in at.subheader[0].value
    assert at.radio(key="gradcam_target_mode").value == "Any class" or at.selectbox(key="gradcam_top_class").value.label == "dog"


BAD = [
    ("Architecture", {"model": "foo"}, "`?model=foo` is not a model here; showing resnet18."),
    ("Architecture", {"stage": "layer9"}, "`?stage=layer9` is not a stage of resnet18 here; showing it closed."),
    ("Train", {"seed": "-4"}, "`?seed=-4` is not a seed (a whole number from 0 to 2147483647) here; showing 0."),
    ("Why it works", {"exp": "<script>"}, "`?exp=<script>` is not an experiment here; showing gradient-flow."),
    ("Classify", {"pic": "/etc/passwd"}, "`?pic=/etc/passwd` is not a gallery picture here; showing the default."),
    ("Grad-CAM", {"layer": "fc"}, "`?layer=fc` is not a layer of this model here; showing layer3."),
    ("Fine-tune", {"backbone": "trained:nobody"}, "`?backbone=trained:nobody` is not a backbone here; showing shipped."),
]


@pytest.mark.parametrize(("label", "params", "note"), BAD, ids=[f"{b[0]}-{next(iter(b[1]))}" for b in BAD])
def test_a_bad_parameter_is_ignored_with_a_note(label: str, params: dict[str, str], note: str) -> None:
    at = opened(label, params)
    assert note in [c.value for c in at.caption]
    name = next(iter(params))
    assert at.query_params.get(name) != params[name]  # the URL now says what is shown


def test_architecture_opens_the_linked_stage_and_follows_the_widgets() -> None:
    at = opened("Architecture", {"stage": "layer2"})
    stages = [e for e in at.expander if "· shortcuts:" in e.label]
    assert [e.proto.expanded for e in stages] == [False, True, False, False]
    at.selectbox(key="variant").set_value("resnet34").run()
    at.toggle(key="residual").set_value(False).run()
    assert at.query_params["model"] == "resnet34" and at.query_params["plain"] == "1"


def test_train_keeps_its_run_id_beside_the_view() -> None:
    at = opened("Train", {"mode": "depth"})
    at.radio(key="scale").set_value("paper").run()
    assert at.query_params["mode"] == "depth" and at.query_params["scale"] == "paper"
    assert len(at.query_params["run"]) == 32
