"""Presenter mode and the guided path, through AppTest: ?present=1, page switches, Previous/Next, Next links."""

from __future__ import annotations

from pathlib import Path

import pytest
from pagetest import diagrams, open_app_page
from streamlit.testing.v1 import AppTest

from resnet_core.architecture_file import shipped_anatomy
from resnet_core.diagrams import FONT_SIZE, block_dot, network_dot, stage_dot
from webui.guide import NEXT_KEY, PREVIOUS_KEY
from webui.pages import HOME, PAGES, page
from webui.presenter import PARAM
from webui.story import STORY, chapter, next_page, previous_page

ROOT = Path(__file__).resolve().parents[1]
LIGHT = 60  # s: Home and Architecture only


def presenting_app(path: str = HOME.path) -> AppTest:
    at = open_app_page(path, LIGHT) if path != HOME.path else AppTest.from_file(str(ROOT / "app.py"), default_timeout=LIGHT)
    at.query_params[PARAM] = "1"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sidebar_text(at: AppTest) -> str:
    return " ".join([*(m.value for m in at.sidebar.markdown), *(c.value for c in at.sidebar.caption)])


def title(at: AppTest) -> str:
    return at.title[0].value


def test_the_story_visits_every_page_once_in_order() -> None:
    assert [c.page for c in STORY] == list(PAGES)
    assert [c.part for c in STORY] == ["The shortcut", "The shortcut", "The race", "Why it works",
                                       "What the network sees", "What the network sees", "Teach it your own things"]
    assert next_page(HOME) == page("Architecture") and previous_page(HOME) is None
    assert previous_page(page("Train")) == page("Architecture") and next_page(page("Fine-tune")) is None
    assert chapter(page("Grad-CAM")).number == 4


def test_present_in_the_url_turns_presenter_mode_on_and_it_survives_a_page_switch() -> None:
    at = presenting_app()
    assert at.sidebar.toggle(key="presenter_toggle").value is True
    at.switch_page(page("Architecture").path)
    at.query_params.clear()  # as a browser's page switch drops them
    at.run()
    assert not at.exception and title(at) == "Architecture"
    assert at.sidebar.toggle(key="presenter_toggle").value is True
    assert at.query_params[PARAM] == "1"  # written back to the new page's URL
    assert at.button(key=NEXT_KEY).label == "Next: Train"


def test_the_toggle_turns_it_off_and_present_0_too() -> None:
    at = presenting_app()
    at.sidebar.toggle(key="presenter_toggle").set_value(False).run()
    assert "This machine" in sidebar_text(at) and PARAM not in at.query_params
    assert not at.get("button") or all(b.key not in (NEXT_KEY, PREVIOUS_KEY) for b in at.button)
    at.sidebar.toggle(key="presenter_toggle").set_value(True).run()
    assert "This machine" not in sidebar_text(at)
    at.query_params[PARAM] = "0"
    at.run()
    assert at.sidebar.toggle(key="presenter_toggle").value is False


def test_presenter_mode_hides_the_machine_and_developer_commands() -> None:
    normal = AppTest.from_file(str(ROOT / "app.py"), default_timeout=LIGHT).run()
    assert "This machine" in sidebar_text(normal) and "**Device:**" in sidebar_text(normal)
    assert any("python -m resnet_core" in m.value for m in normal.main.markdown)
    at = presenting_app()
    shown = sidebar_text(at)
    assert "This machine" not in shown and "Device:" not in shown and "CIFAR-10:" not in shown and "prefetch" not in shown
    assert not any("python -m resnet_core" in m.value for m in at.main.markdown)
    # The sidebar still links every page, and the toggle to leave presenter mode is there.
    assert len(at.sidebar.get("page_link")) == len(PAGES)


def test_next_and_previous_go_to_the_neighbouring_pages() -> None:
    at = presenting_app()
    assert at.button(key=PREVIOUS_KEY).disabled  # Home opens the story
    at.button(key=NEXT_KEY).click().run()
    assert not at.exception and title(at) == "Architecture"
    assert at.button(key=PREVIOUS_KEY).label == "Previous: Home"
    at.button(key=PREVIOUS_KEY).click().run()
    assert not at.exception and title(at) == "ResNet, explained by running it"


def test_presenter_mode_enlarges_the_diagrams() -> None:
    at = presenting_app(page("Architecture").path)
    specs = diagrams(at)
    assert specs and all("fontsize=17" in spec for spec in specs)
    normal = diagrams(open_app_page(page("Architecture").path, LIGHT).run())
    assert normal and all("fontsize=17" not in spec and "fontsize=11" in spec for spec in normal)


@pytest.mark.parametrize("current", PAGES, ids=lambda p: p.label)
def test_every_page_ends_with_a_link_to_the_next(current) -> None:
    at = open_app_page(current.path, 180).run()
    assert not at.exception, [e.value for e in at.exception]
    last = at.main.get("page_link")[-1].proto
    after = next_page(current)
    if after is None:
        assert (last.page, last.label) == (HOME.url_path, "Next: back to the start (Home)")
    else:
        assert (last.page, last.label) == (after.url_path, f"Next: {after.label}")


def test_diagrams_take_a_font_size_and_scale_every_text_with_it() -> None:
    anatomy = shipped_anatomy("resnet56")
    for dot in (block_dot, stage_dot, network_dot):
        arg = anatomy.blocks[0] if dot is block_dot else anatomy.stages[0] if dot is stage_dot else anatomy
        assert f"fontsize={FONT_SIZE}]" in dot(arg)
        big = dot(arg, font_size=20)
        assert "fontsize=20]" in big and "fontsize=19]" in big and f"fontsize={FONT_SIZE}]" not in big
