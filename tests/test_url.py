"""webui.url through AppTest: a valid parameter sets the widget, a bad one is ignored with a note,
and changing the widget updates the URL."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def script() -> None:
    import streamlit as st

    from webui import url

    url.bind("model", "model", "resnet18", choices=["resnet18", "resnet50"], what="a model")
    st.selectbox("Model", ["resnet18", "resnet50"], key="model")
    url.bind("plain", "residual", True, choices=[True, False], encode=lambda on: url.flag(not on), what="0 or 1")
    st.toggle("Shortcuts", key="residual")
    url.bind("seed", "seed", 0, parse=int, valid=lambda s: 0 <= s <= 99, what="a seed from 0 to 99")
    st.number_input("Seed", min_value=0, max_value=99, key="seed")
    url.bind_many("nets", "nets", ["plain"], choices=["plain", "residual"], what="plain or residual")
    st.multiselect("Networks", ["plain", "residual"], key="nets")


def app(**params: str) -> AppTest:
    at = AppTest.from_function(script)
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def notes(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_no_parameters_show_the_defaults_and_write_them() -> None:
    at = app()
    assert at.selectbox(key="model").value == "resnet18" and at.toggle(key="residual").value is True
    assert not notes(at)
    assert dict(at.query_params) == {"model": "resnet18", "plain": "0", "seed": "0", "nets": "plain"}


def test_valid_parameters_set_the_widgets() -> None:
    at = app(model="resnet50", plain="1", seed="42", nets="residual,plain")
    assert at.selectbox(key="model").value == "resnet50"
    assert at.toggle(key="residual").value is False
    assert at.number_input(key="seed").value == 42
    assert at.multiselect(key="nets").value == ["residual", "plain"]
    assert not notes(at)


def test_invalid_parameters_are_ignored_with_a_note_naming_them() -> None:
    at = app(model="foo", plain="maybe", seed="-3", nets="bogus")
    assert at.selectbox(key="model").value == "resnet18"
    assert at.toggle(key="residual").value is True
    assert at.number_input(key="seed").value == 0
    assert at.multiselect(key="nets").value == ["plain"]
    assert notes(at) == [
        "`?model=foo` is not a model here; showing resnet18.",
        "`?plain=maybe` is not 0 or 1 here; showing 0.",
        "`?seed=-3` is not a seed from 0 to 99 here; showing 0.",
        "`?nets=bogus` is not plain or residual here; showing the default.",
    ]
    assert at.query_params["model"] == "resnet18" and at.query_params["seed"] == "0"  # the URL says what is shown


def test_a_seed_that_is_not_a_number_is_a_note_not_an_exception() -> None:
    at = app(seed="1e9; drop")
    assert at.number_input(key="seed").value == 0 and "`?seed=1e9; drop`" in notes(at)[0]


def test_some_bad_entries_of_a_list_are_dropped_the_rest_kept() -> None:
    at = app(nets="residual,bogus")
    assert at.multiselect(key="nets").value == ["residual"]
    assert notes(at) == ["`?nets=bogus` is not plain or residual here; showing the others."]


def test_changing_a_widget_updates_the_url_and_the_url_is_read_once() -> None:
    at = app(model="resnet50")
    at.selectbox(key="model").set_value("resnet18").run()
    at.toggle(key="residual").set_value(False).run()
    at.number_input(key="seed").set_value(7).run()
    at.multiselect(key="nets").select("residual").run()
    assert at.selectbox(key="model").value == "resnet18"  # the user's change, not the URL's first value
    assert dict(at.query_params) == {"model": "resnet18", "plain": "1", "seed": "7", "nets": "plain,residual"}
