"""resnet_core is a pure-PyTorch package: importing any of it pulls in no UI library."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import resnet_core

ROOT = Path(__file__).resolve().parents[1]


def test_core_modules_import_without_streamlit_or_plotly() -> None:
    modules = [m.name for m in pkgutil.walk_packages(resnet_core.__path__, "resnet_core.")]
    assert "resnet_core.models" in modules and len(modules) > 10
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'plotly'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
