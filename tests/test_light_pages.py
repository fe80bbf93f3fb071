"""The home page and the sidebar load no torch: a first visit costs the server ~150 MB, not ~700.

``import torch`` alone is ~480 MB of resident memory and ~4 s on 2 cores with the PyPI (CUDA)
build, torchvision another ~165 MB (issue #10). Checked in a fresh interpreter, because this
test process has imported torch long before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_core.settings import CACHE_DIR_ENV, DATA_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "torchinfo", "resnet_core.models", "resnet_core.classify", "timm")

PROBE = f"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=60).run()
sidebar = [m.value for m in at.sidebar.markdown]
print(json.dumps({{"errors": [e.value for e in at.exception], "sidebar": sidebar,
                  "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def test_home_page_and_sidebar_import_no_torch() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["loaded"] == [], f"the home page imported {result['loaded']}"
    assert any(line.startswith("**Device:** CPU (") or "(CUDA)" in line for line in result["sidebar"])


def test_package_import_is_light() -> None:
    code = ("import sys, resnet_core, resnet_core.jobs, resnet_core.environment, resnet_core.settings; "
            "resnet_core.jobs.RUNS; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr[-2000:]
    # The model API is still one attribute away.
    code = "import resnet_core; print(resnet_core.list_models()[:1])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "['resnet18']", out.stderr[-2000:]


RACE_PROBE = """
import json, sys, time
sys.path.insert(0, "tests")
from pagetest import open_app_page
from webui.pages import page
at = open_app_page(page("Train").path, timeout=60).run()
at.number_input(key="race_steps_quick").set_value(10).run()
at.button(key="start").click().run()
deadline = time.monotonic() + 120
while at.button(key="start").disabled and time.monotonic() < deadline:
    time.sleep(0.5)
    at.run()
print(json.dumps({"errors": [e.value for e in at.exception],
                  "table": any(m.value.startswith("| network |") for m in at.markdown),
                  "loaded": [m for m in ("pandas", "pyarrow") if m in sys.modules]}))
"""


@pytest.mark.slow
def test_a_race_and_its_results_table_import_no_pandas(tmp_path: Path) -> None:
    """pandas and pyarrow (what ``st.dataframe`` loads) cost the server +73 MB: a race and its
    results table, drawn as Markdown, load neither."""
    # No CIFAR-10 anywhere, so the race trains on synthetic shapes (as in tests/test_page_train.py).
    env = {k: v for k, v in os.environ.items() if k != DATA_DIR_ENV} | {CACHE_DIR_ENV: str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", RACE_PROBE], cwd=ROOT, capture_output=True, text=True,
                         timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == [] and result["table"], result
    assert result["loaded"] == [], f"the Train page's race imported {result['loaded']}"
