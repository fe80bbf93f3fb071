"""The Architecture page, driven headless through Streamlit's AppTest."""

from __future__ import annotations

import json

import pytest
from pagetest import open_app_page
from streamlit.testing.v1 import AppTest

PAGE = "pages/1_Architecture.py"
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


def test_stage_table_and_layer_table_are_rendered(page: AppTest) -> None:
    stages = page.dataframe[0].value
    assert list(stages["stage"]) == ["conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "head"]
    assert list(stages["output_size"]) == ["112 x 112", "56 x 56", "28 x 28", "14 x 14", "7 x 7", "1 x 1"]
    assert "torchinfo" in page.expander[0].label
    layers = page.dataframe[1].value
    assert layers["name"].iloc[0] == "conv1" and layers["name"].iloc[-1] == "fc"


def test_changing_the_variant_changes_the_totals(page: AppTest) -> None:
    page.selectbox(key="variant").set_value("resnet50").run()
    shown = metrics(page)
    assert shown["Parameters"] == "25,557,032"
    assert shown["Mult-adds (MACs)"] == "4.09 G"
    page.selectbox(key="variant").set_value("resnet56").run()
    assert metrics(page)["Parameters"] == "853,018"
    assert len(page.dataframe[0].value) == 5  # conv1, three stages, head


def test_switching_shortcuts_off_shows_the_plain_twin(page: AppTest) -> None:
    page.toggle(key="residual").set_value(False).run()
    assert not page.exception
    assert metrics(page)["Parameters"] == "11,515,688"  # no projection shortcuts
    assert set(page.dataframe[0].value["shortcut"][1:5]) == {"none"}
    for chart in page.get("graphviz_chart"):
        assert "x -> add" not in chart.proto.spec


def test_block_diagrams_draw_the_shortcut(page: AppTest) -> None:
    specs = [chart.proto.spec for chart in page.get("graphviz_chart")]
    assert len(specs) == 2
    assert all("x -> add" in spec for spec in specs)
    assert "Residual basic block" in specs[0] and "Residual bottleneck block" in specs[1]


def test_comparison_charts_follow_the_multiselect(page: AppTest) -> None:
    specs = chart_specs(page)
    assert set(specs) == {"chart_params", "chart_macs", "chart_depth"}
    params = specs["chart_params"]
    assert params["layout"]["yaxis"]["type"] == "log"
    residual_bars = params["data"][0]
    assert residual_bars["x"][:5] == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert residual_bars["y"][4] == 60_192_808
    assert specs["chart_depth"]["data"][0]["y"][:5] == [18, 34, 50, 101, 152]

    page.multiselect(key="compare").set_value(["resnet9", "resnet110"]).run()
    macs = chart_specs(page)["chart_macs"]["data"][0]
    assert macs["x"] == ["resnet9", "resnet110"]
    assert macs["y"] == [379_266_442, 252_895_786]

    page.multiselect(key="compare").set_value([]).run()
    assert not page.get("plotly_chart")
    assert "Pick at least one" in page.info[0].value
