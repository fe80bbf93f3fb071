"""Views in the URL: a widget's value kept in a short query parameter (``?model=resnet50&plain=1``).

Speakers prepare a view the day before and open it from a link (issue 18, item 3). Call
:func:`bind` just before the widget is drawn: on the session's first run the parameter, if any,
becomes the widget's value (through its session-state key, so the widget is drawn with it); on every
run the widget's value is written back to the URL. A URL is typed by anyone: a value that is not one
of the widget's choices (or outside its range) is ignored with a one-line note, never used as a key
and never an exception. Streamlit drops query parameters on a page switch; session state keeps what
it kept before. No torch here.

Why not Streamlit's own ``bind="query-params"``: it names the parameter after the widget's key and
writes the *formatted* option ("resnet50 · ImageNet, 224 px"), and drops a bad value without a word.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

__all__ = ["bind", "bind_many", "flag", "forget", "read_once", "reject", "write"]

T = TypeVar("T")

_READ_KEY = "url_params_read"  # widget keys whose parameter this session has already read


def read_once(param: str, key: str) -> str | None:
    """The raw ``?param=`` value the first time the widget ``key`` asks in this session, else None.

    Only once: afterwards the widget is the truth and the URL follows it (a later run reading the URL
    would undo the user's change).
    """
    seen: set[str] = st.session_state.setdefault(_READ_KEY, set())
    if key in seen:
        return None
    seen.add(key)
    raw = st.query_params.get(param)
    return raw if raw else None


def reject(param: str, raw: str, what: str, shown: str) -> None:
    """Say that ``?param=raw`` is ignored: it is not ``what`` here, and ``shown`` is what the page shows."""
    st.caption(f"`?{param}={raw[:40]}` is not {what} here; showing {shown}.")


def write(param: str, text: str) -> None:
    """Put ``?param=text`` in the URL, unless it is there already (every write is a message to the browser)."""
    if st.query_params.get(param) != text:
        st.query_params[param] = text


def forget(param: str) -> None:
    """Take ``param`` out of the URL (the view it described is not one a link can bring back)."""
    if param in st.query_params:
        del st.query_params[param]


def flag(on: bool) -> str:
    """How a yes/no setting reads in the URL: ``1`` or ``0``."""
    return "1" if on else "0"


def bind(
    param: str,
    key: str,
    default: T,
    *,
    choices: Sequence[T] | None = None,
    parse: Callable[[str], T] | None = None,
    valid: Callable[[T], bool] | None = None,
    encode: Callable[[T], str] = str,
    what: str = "a choice",
) -> T:
    """Before the widget ``key`` is drawn: start it from ``?param=`` (once) or ``default``; keep the URL in step.

    With ``choices`` the parameter must be one of them as ``encode`` writes it (so ``?plain=1`` can
    stand for ``residual=False``); otherwise ``parse`` turns it into a value (ValueError: not one) and
    ``valid`` checks it. A value the session kept that is no longer a choice (a model list that changed)
    falls back to ``default``. The widget must not also pass ``index=``/``value=``: its value is
    ``st.session_state[key]``. Returns that value.
    """
    def acceptable(value: Any) -> bool:
        if choices is not None:
            return value in choices
        return valid is None or valid(value)

    raw = read_once(param, key)
    if raw is not None:
        value = _decode(raw, choices, parse, encode)
        if value is not _BAD and acceptable(value):
            st.session_state[key] = value
        else:
            reject(param, raw, what, encode(st.session_state.get(key, default)))
    if key not in st.session_state or not acceptable(st.session_state[key]):
        st.session_state[key] = default
    value = st.session_state[key]
    write(param, encode(value))
    return value


def bind_many(
    param: str, key: str, default: Sequence[T], *, choices: Sequence[T], encode: Callable[[T], str] = str,
    what: str = "a choice",
) -> list[T]:
    """:func:`bind` for a multiselect: ``?param=a,b``; entries that are not choices are dropped, with a note."""
    by_text = {encode(c): c for c in choices}
    raw = read_once(param, key)
    if raw is not None:
        parts = [p for p in raw.split(",") if p]
        bad = [p for p in parts if p not in by_text]
        if bad:
            reject(param, ",".join(bad), what, "the others" if len(bad) < len(parts) else "the default")
        good = [by_text[p] for p in dict.fromkeys(parts) if p in by_text]
        if good:
            st.session_state[key] = good
    current = st.session_state.get(key)
    if current is None or any(v not in choices for v in current):
        st.session_state[key] = [v for v in default if v in choices]
    values = list(st.session_state[key])
    write(param, ",".join(encode(v) for v in values))
    return values


_BAD = object()  # a parameter that does not parse


def _decode(raw: str, choices: Sequence[Any] | None, parse: Callable[[str], Any] | None, encode: Callable) -> Any:
    if choices is not None:
        return {encode(c): c for c in choices}.get(raw, _BAD)
    if parse is None:
        return raw
    try:
        return parse(raw)
    except ValueError:
        return _BAD
