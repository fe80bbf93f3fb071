"""Run ids: the random names in ``?run=`` by which a page, the server's runs and the archive find a run."""

from __future__ import annotations

import re
import uuid

__all__ = ["new_run_id", "valid_run_id"]

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def new_run_id() -> str:
    """A fresh, unguessable run id (128 random bits as hex): it sits in a URL anyone may share."""
    return uuid.uuid4().hex


def valid_run_id(value: object) -> bool:
    """True for a string :func:`new_run_id` could have made; anything else from a URL is ignored."""
    return isinstance(value, str) and bool(_RUN_ID.fullmatch(value))
