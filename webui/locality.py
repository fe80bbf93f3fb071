"""Whether this page is served to this machine only: the fact behind the "auto" defaults (issue #19).

A laptop or a talk (``streamlit run app.py``, opened at ``localhost``) gets the free-text CIFAR-10
folder box and sees its paths; a public server (Community Cloud, a LAN address) gets neither.
Both hosts the session knows must be loopback: the one in the browser's address bar
(``st.context.url``) and the request's ``Host`` header. A proxy that talks to the app on
localhost still leaves the visitor's address (``*.streamlit.app``) in the first, and a visitor who
forges the first still reaches the server under its public name in the second. With neither known
(``AppTest``, a bare script run) there is no visitor, and the server's ``server.address`` decides.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import streamlit as st

__all__ = ["PATH_WORDS", "is_local", "is_loopback_host", "redact_paths", "served_locally", "shown"]


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1``, with or without a port or brackets."""
    if not host:
        return False
    host = host.strip().lower()
    if host.startswith("["):  # "[::1]:8501"
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:  # "localhost:8501", "127.0.0.1:8501"
        host = host.split(":", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local(url_host: str | None, header_host: str | None, server_address: str | None) -> bool:
    """The rule, pure: every host the request names is loopback; with none, a loopback (or unset) address."""
    known = [host for host in (url_host, header_host) if host]
    if known:
        return all(is_loopback_host(host) for host in known)
    return not server_address or is_loopback_host(server_address)


def served_locally() -> bool:
    """This session's answer, read from ``st.context`` and Streamlit's ``server.address``."""
    url = st.context.url
    url_host = urlsplit(url).netloc if url else None
    try:
        header_host = st.context.headers.get("Host")
    except Exception:  # noqa: BLE001 - no request behind this session (a bare run): no header to read
        header_host = None
    address = st.get_option("server.address")
    return is_local(url_host, header_host, str(address) if address else None)


#: An absolute POSIX path in a message: "/" then path characters, not inside a word or a URL.
_PATH = re.compile(r"(?<![\w:/.~-])(?:~)?/(?:[\w.@+-]+/?)+")
#: What a visitor of a public server reads where a message named one of its folders.
PATH_WORDS = "a folder on this server"


def redact_paths(text: str) -> str:
    """``text`` with every absolute path replaced by :data:`PATH_WORDS` (URLs are kept)."""
    return _PATH.sub(PATH_WORDS, text)


def shown(text: object) -> str:
    """A message for ``st.*``: as it is on a local server, with its server paths taken out elsewhere.

    The core's messages name folders because the CLI's user owns the machine; a visitor of a
    public server learns nothing from them but where its files are (issue #19, item 5).
    """
    text = str(text)
    return text if served_locally() else redact_paths(text)
