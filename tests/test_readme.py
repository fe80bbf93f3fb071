"""The README's Python snippets run as written and print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)


def test_the_readme_has_the_snippets() -> None:
    assert len(SNIPPETS) == 2 and "clf.classify(photo).best" in SNIPPETS[1]


@pytest.mark.slow
def test_snippets_run_and_print_what_they_promise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torchinfo")
    from resnet_core.checkpoint import shipped_checkpoint

    if shipped_checkpoint() is None:
        pytest.skip("the shipped checkpoint is not in this install")
    # The snippet opens "cat.jpg" from the working directory.
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(tmp_path / "cat.jpg")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        for snippet in SNIPPETS:
            exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("['resnet18'")
    assert lines[1] == "4.09 G"
    assert lines[2].startswith("conv2_x (256, 56, 56) projection (1x1 conv), then 2 x identity")
    assert re.fullmatch(r"\w+ \(\d+\.\d%\)", lines[-1]), lines[-1]  # "cat (73.2%)": best class, probability
    assert namespace["heat"].shape == (32, 32) and 0 <= float(namespace["heat"].min()) <= float(namespace["heat"].max()) <= 1
