"""Reference curves: a full quick-scale race, run once with the CLI and shipped with the package.

A live race on a small CPU shows only the start of its schedule; the shipped run of the whole
schedule (same seed, same code) is drawn faintly underneath so the end of the story is visible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from resnet_core.lessons import Experiment, ScaleName

__all__ = ["REFERENCE_DIR", "reference_curves"]


REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def reference_curves(experiment: Experiment, scale: ScaleName = "quick") -> dict[str, Any] | None:
    """The shipped curves of ``experiment`` at ``scale`` (with command, date, machine), or None.

    Written by ``python -m resnet_core experiment degradation --save-curves`` (see the file's
    ``command``); plain JSON, so reading it can run no code.
    """
    path = REFERENCE_DIR / f"{experiment.key}_{scale}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "curves" in data else None
