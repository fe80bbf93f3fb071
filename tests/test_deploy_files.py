"""The Pipfile Community Cloud installs from says what requirements.txt says, torch from the CPU index."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def requirements() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", line).groups()
            out[name.lower()] = spec.strip()
    return out


def test_pipfile_matches_requirements_with_cpu_torch() -> None:
    pipfile = tomllib.loads((ROOT / "Pipfile").read_text())
    sources = {s["name"]: s["url"] for s in pipfile["source"]}
    assert sources["pytorch-cpu"] == "https://download.pytorch.org/whl/cpu"
    packages = {name.lower(): value for name, value in pipfile["packages"].items()}
    specs = {name: (value["version"] if isinstance(value, dict) else value) for name, value in packages.items()}
    assert specs == requirements()
    for name in ("torch", "torchvision"):
        assert packages[name]["index"] == "pytorch-cpu"
    assert not (ROOT / "uv.lock").exists()  # Cloud would read it first and never see the Pipfile
