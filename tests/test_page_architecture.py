"""The Architecture page, driven headless through Streamlit's AppTest."""

from __future__ import annotations

import json

import pytest
from pagetest import diagrams, open_app_page
from resnet_core.models import list_models
from streamlit.testing.v1 import AppTest
from webui import pages

PAGE = pages.page("Architecture").path
# A cold first run imports torch and traces all 24 variants-and-twins on 2 busy cores.
TIMEOUT = 120


@pytest.fixture
def page() -> AppTest:
    at = open_app_page(PAGE, TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart_specs(at: AppTest) -> dict[str, dict]:
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def test_page_shows_resnet18_by_default(page: AppTest) -> None:
    assert page.title[0].value == "Architecture"
    assert page.selectbox(key="variant").value == "resnet18"
    assert page.toggle(key="residual").value is True
    shown = metrics(page)
    assert shown["Parameters"] == "11,689,512"
    assert shown["Mult-adds (MACs)"] == "1.81 G"
    assert shown["Depth"] == "18"
    # The UI calls them mult-adds (MACs) and never FLOPs for the same number.
    texts = [*shown, *(m.help or "" for m in page.metric), *(e.value for e in [*page.markdown, *page.caption])]
    assert not any("FLOP" in text.upper() for text in texts)


def table_with(at: AppTest, column: str):
    """The one table on the page with ``column``: "stage" (Table 1) or "type" (every layer)."""
    (table,) = [d.value for d in at.dataframe if column in d.value.columns]
    return table


def open_expanders(at: AppTest, *keys: str) -> AppTest:
    """Open the page's expanders with these keys, as a click does (each rerun draws what is open)."""
    for key in keys:
        at.session_state[key] = True
    at.run()
    assert not at.exception, at.exception
    return at


STAGES = tuple(f"stage_open_layer{i}" for i in range(1, 5))


def test_stage_table_and_layer_table_are_rendered(page: AppTest) -> None:
    stages = table_with(page, "stage")
    assert list(stages["stage"]) == ["conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "head"]
    assert list(stages["output_size"]) == ["112 x 112", "56 x 56", "28 x 28", "14 x 14", "7 x 7", "1 x 1"]
    assert page.expander[-1].label.startswith("Every layer, as torchinfo traces it")
    # Closed, it draws nothing: a switch of variant does not lay out a table nobody sees.
    assert not [d for d in page.dataframe if "type" in d.value.columns]
    layers = table_with(open_expanders(page, "every_layer_open"), "type")
    assert layers["name"].iloc[0] == "conv1" and layers["name"].iloc[-1] == "fc"


def test_changing_the_variant_changes_the_totals(page: AppTest) -> None:
    page.selectbox(key="variant").set_value("resnet50").run()
    shown = metrics(page)
    assert shown["Parameters"] == "25,557,032"
    assert shown["Mult-adds (MACs)"] == "4.09 G"
    page.selectbox(key="variant").set_value("resnet56").run()
    assert metrics(page)["Parameters"] == "853,018"
    assert len(table_with(page, "stage")) == 5  # conv1, three stages, head


def test_switching_shortcuts_off_shows_the_plain_twin(page: AppTest) -> None:
    page.toggle(key="residual").set_value(False).run()
    assert not page.exception
    assert metrics(page)["Parameters"] == "11,515,688"  # no projection shortcuts
    assert set(table_with(page, "stage")["shortcut"][1:5]) == {"none"}
    drawn = diagrams(page)
    assert drawn and all("x -> add" not in dot for dot in drawn)


def graphs(at: AppTest, kind: str) -> list[str]:
    """DOT sources of one kind of diagram on the page: "block", "stage" or "network"."""
    return diagrams(at, kind)


def test_block_diagrams_follow_the_variant(page: AppTest) -> None:
    blocks = graphs(page, "block")
    assert len(blocks) == 2 and all("x -> add" in spec for spec in blocks)
    assert "Residual basic block · layer1.0" in blocks[0] and "3x3 conv, 64" in blocks[0]
    assert "Residual basic block · layer2.0" in blocks[1] and "projection: 1x1 conv, 128, stride 2, BN" in blocks[1]
    page.selectbox(key="variant").set_value("resnet50").run()
    blocks = graphs(page, "block")
    assert "Residual bottleneck block · layer1.0" in blocks[0] and "1x1 conv, 256" in blocks[0]
    assert "x: 64 x 56 x 56" in blocks[0]
    page.selectbox(key="variant").set_value("resnet56").run()
    assert any("zero-pad: subsample by 2, pad 16 zero channels" in spec for spec in graphs(page, "block"))


def test_every_variant_is_drawn_from_shipped_pictures(page: AppTest) -> None:
    # Laid out ahead of time (resnet_core.diagram_file): the browser lays nothing out on a switch (issue 18, item 6).
    for name in list_models():
        page.selectbox(key="variant").set_value(name).run()
        for residual in (True, False):
            page.toggle(key="residual").set_value(residual).run()
            assert not page.exception
            assert diagrams(page, "block") and len(diagrams(page, "network")) == 1, (name, residual)
            assert not page.get("graphviz_chart"), (name, residual)


def test_open_sections_stay_open_across_variants(page: AppTest) -> None:
    # Each expander's label names the variant's shapes, so it is a new widget after every switch.
    layers_of_resnet18 = len(table_with(open_expanders(page, "stage_open_layer2", "every_layer_open"), "type"))
    page.selectbox(key="variant").set_value("resnet50").run()
    (stage,) = graphs(page, "stage")
    assert "conv3_x (layer2)" in stage and "256 x 56 x 56" in stage  # resnet50's layer2, open
    assert len(table_with(page, "type")) > layers_of_resnet18  # resnet50's every layer, open
    page.toggle(key="residual").set_value(False).run()
    assert len(graphs(page, "stage")) == 1
    # Closed again, it stays closed on the next switch.
    page.session_state["stage_open_layer2"] = False
    page.run()
    page.selectbox(key="variant").set_value("resnet56").run()
    assert not graphs(page, "stage")


def block_table(at: AppTest, stage: str):
    """The table of blocks inside one stage's expander."""
    (table,) = [d.value for d in at.dataframe if "block" in d.value.columns and d.value["block"].iloc[0].startswith(stage)]
    return table


def test_whole_network_view_is_built_from_the_model(page: AppTest) -> None:
    (network,) = graphs(page, "network")
    for stage, shape in [("conv2_x", "64 x 56 x 56"), ("conv5_x", "512 x 7 x 7")]:
        assert stage in network and shape in network
    assert "1000 class scores" in network
    labels = [e.label for e in page.expander]
    assert labels[1].startswith("conv3_x (layer2) · 2 blocks · 64 x 56 x 56 → 128 x 28 x 28")
    assert labels[1].endswith("shortcuts: projection (1x1 conv), then identity")
    assert not graphs(page, "stage")  # closed stages are drawn when opened
    open_expanders(page, *STAGES)
    assert len(graphs(page, "stage")) == 4  # one per stage, inside its expander
    assert not page.get("graphviz_chart")  # every one a shipped picture, none laid out in the browser
    blocks = block_table(page, "layer2")
    assert list(blocks["block"]) == ["layer2.0", "layer2.1"]
    assert list(blocks["shortcut"]) == ["projection", "identity"]
    assert list(blocks["output"]) == ["128 x 28 x 28"] * 2

    page.selectbox(key="variant").set_value("resnet110").run()
    labels = [e.label for e in page.expander]
    assert labels[1].endswith("shortcuts: zero-padding (option A), then 17 x identity")
    assert len(block_table(open_expanders(page, "stage_open_layer1"), "layer1")) == 18
    page.toggle(key="residual").set_value(False).run()
    assert all(e.label.endswith("shortcuts: 18 x none") for e in page.expander[:3])


def test_references_say_what_they_support(page: AppTest) -> None:
    assert "Stages, as in Table 1 of the paper" in [s.value for s in page.subheader]
    text = " ".join(m.value for m in page.markdown)
    # Identity Mappings is cited for pre-activation, not for the post-activation blocks drawn here.
    assert "*Identity Mappings in Deep Residual Networks*" in text and "pre-activation" in text
    page.selectbox(key="variant").set_value("resnet56").run()
    assert "Stages, as in section 4.2 of the paper (the 6n+2 CIFAR-10 networks)" in [s.value for s in page.subheader]
    every_layer = table_with(open_expanders(page, "every_layer_open"), "type")
    assert "Identity" not in set(every_layer["type"])


def test_comparison_charts_follow_the_multiselect(page: AppTest) -> None:
    specs = chart_specs(page)
    assert set(specs) == {"chart_params", "chart_macs", "chart_depth", "chart_cost_error"}
    params = specs["chart_params"]
    assert params["layout"]["yaxis"]["type"] == "log"
    # Whole decades only, in SI units; the plain twins hatched, not just paler.
    assert params["layout"]["yaxis"]["ticktext"] == ["100k", "1M", "10M", "100M"]
    assert params["data"][1]["marker"]["pattern"]["shape"] == "/"
    assert specs["chart_macs"]["layout"]["yaxis"]["ticktext"][0] == "10M"
    residual_bars = params["data"][0]
    assert page.multiselect(key="compare").value == list_models(featured=True)  # the registry says what
    assert residual_bars["x"][:5] == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert residual_bars["y"][4] == 60_192_808
    assert specs["chart_depth"]["data"][0]["y"][:5] == [18, 34, 50, 101, 152]

    page.multiselect(key="compare").set_value(["resnet9", "resnet110"]).run()
    macs = chart_specs(page)["chart_macs"]["data"][0]
    assert macs["x"] == ["resnet9", "resnet110"]
    assert macs["y"] == [379_266_442, 252_895_786]

    page.multiselect(key="compare").set_value([]).run()
    assert set(chart_specs(page)) == {"chart_cost_error"}  # it does not depend on the selection
    assert "Pick at least one" in page.info[0].value


def test_cost_against_error_plots_table_6(page: AppTest) -> None:
    from resnet_core import get_spec, list_models

    (points,) = chart_specs(page)["chart_cost_error"]["data"]
    paper = [n for n in list_models() if get_spec(n).paper_family]
    assert points["text"] == ["ResNet-20", "ResNet-32", "ResNet-44", "ResNet-56", "ResNet-110"]
    assert points["y"] == [get_spec(n).paper_error for n in paper] == [8.75, 7.51, 7.17, 6.97, 6.43]
    assert points["x"][0] == 40_552_426 and points["x"][-1] == 252_895_786
