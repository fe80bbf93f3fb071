"""Shared fixtures: where the offline CIFAR-10 copy and the sample photos are, if anywhere."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
# Pages import the shared ``ui`` module from the repository root, as ``streamlit run`` does.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from resnet_core.environment import find_cifar10_dir  # noqa: E402
from resnet_core.settings import DATA_DIR_ENV, SAMPLES_DIR_ENV, samples_dir  # noqa: E402


@pytest.fixture(scope="session")
def cifar10_dir() -> Path:
    """The real CIFAR-10 directory; skips where ``$RESNET_DATA_DIR`` does not point at one."""
    path = find_cifar10_dir()
    if path is None:
        pytest.skip(f"CIFAR-10 not found: set ${DATA_DIR_ENV} to a cifar-10-batches-py directory (.ci/run does)")
    return path


@pytest.fixture(scope="session")
def sample_photos() -> Path:
    """The directory of real test photos; skips where ``$RESNET_SAMPLES_DIR`` is not set."""
    path = samples_dir()
    if path is None:
        pytest.skip(f"sample photos not found: set ${SAMPLES_DIR_ENV} to a folder of photos (.ci/run does)")
    return path


def open_app_page(page: str, timeout: float = 120) -> AppTest:
    """An AppTest of one page, entered through ``app.py`` as ``streamlit run app.py`` serves it.

    Running a page file directly would make it the entrypoint, and the sidebar's links to
    ``app.py`` and its siblings would not resolve. Call ``.run()`` on the result.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.switch_page(page)
    return at


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """``open_page("pages/2_Train.py")``: see :func:`open_app_page`."""
    return open_app_page
