"""Shared fixtures: where the offline CIFAR-10 copy and the sample photos are, if anywhere."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Pages import the shared ``webui`` package from the repository root, as ``streamlit run`` does.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))



def pytest_configure(config: pytest.Config) -> None:
    """Finished runs go to a temporary archive; under pytest-xdist each worker gets its own core.

    The servers, CLIs and pages a test starts inherit ``RESNET_RUNS_DIR``, so the suite never
    fills the user's ``~/.cache/resnet_core/runs`` (resnet_core.jobs.archive) with its runs.
    Under pytest-xdist (``-n 2``, the default in pyproject.toml) each worker gets its own core.

    Two workers whose torch threads share both cores wait on each other (OpenMP threads stall
    when one is descheduled); one core each, inherited by the servers and CLIs a test starts,
    keeps them apart. Affinity is also what ``resnet_core.device.cpu_cores`` reads.
    """
    if "RESNET_RUNS_DIR" not in os.environ:
        os.environ["RESNET_RUNS_DIR"] = tempfile.mkdtemp(prefix="resnet-test-runs-")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= count > 1:
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})
        os.environ["OMP_NUM_THREADS"] = "1"


from browsing import app_url, browser  # noqa: E402, F401 (session fixtures: one server and browser per worker)
from resnet_core.environment import find_cifar10_dir  # noqa: E402
from resnet_core.settings import DATA_DIR_ENV, SAMPLES_DIR_ENV, samples_dir  # noqa: E402


def _found_or_skip(path: Path | None, why: str) -> Path:
    """``path``, or a skip saying ``why`` where it was not found."""
    if path is None:
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def cifar10_dir() -> Path:
    """The real CIFAR-10 directory; skips where ``$RESNET_DATA_DIR`` does not point at one."""
    return _found_or_skip(find_cifar10_dir(),
                          f"CIFAR-10 not found: set ${DATA_DIR_ENV} to a cifar-10-batches-py directory (.ci/run does)")


@pytest.fixture(scope="session")
def sample_photos() -> Path:
    """The directory of real test photos; skips where ``$RESNET_SAMPLES_DIR`` is not set."""
    return _found_or_skip(samples_dir(),
                          f"sample photos not found: set ${SAMPLES_DIR_ENV} to a folder of photos (.ci/run does)")


# --- Model sources without a network: a private torch hub cache and a stand-in shipped model ---


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache for this test (what torch.hub.set_dir sets, restored after)."""
    import torch

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    return tmp_path / "hub"


@pytest.fixture
def cached_resnet18(hub_dir: Path):
    """torchvision's resnet18 (random weights) saved where the real IMAGENET1K_V1 file would be."""
    import torch
    import torchvision

    torch.manual_seed(0)
    tv = torchvision.models.resnet18().eval()
    path = hub_dir / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    torch.save(tv.state_dict(), path)
    return tv


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the shipped CIFAR-10 checkpoint (the real one is trained separately)."""
    import torch

    import resnet_core.checkpoint as checkpoint_module
    from resnet_core.checkpoint import save_checkpoint
    from resnet_core.cifar10 import CLASSES, MEAN, STD
    from resnet_core.models import create_model

    torch.manual_seed(0)
    path = tmp_path / "cifar10_default.pt"
    save_checkpoint(path, create_model("resnet20").eval(), model_name="resnet20", residual=True,
                    classes=CLASSES, mean=MEAN, std=STD, metrics={"test_acc": 0.9123, "test_acc_mirror_tta": 0.9234})
    monkeypatch.setattr(checkpoint_module, "SHIPPED_CHECKPOINT", path)
    return path


@pytest.fixture
def no_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the shipped checkpoint had not landed in this install."""
    import resnet_core.checkpoint as checkpoint_module

    monkeypatch.setattr(checkpoint_module, "SHIPPED_CHECKPOINT", tmp_path / "absent.pt")


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """Empty Streamlit caches around a test, so cached models belong to its monkeypatched world."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


# --- Trained nets for the Why-it-works experiments (issue 8) ---


@pytest.fixture(scope="session")
def race_nets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with stand-ins for the shipped race nets (plain20.pt ... resnet56.pt), trained for seconds."""
    from racenets import train_race_nets

    return train_race_nets(tmp_path_factory.mktemp("race"))


@pytest.fixture
def shipped_race_nets(race_nets: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-ins where the package looks for its shipped race nets."""
    import resnet_core.insight.trained as trained

    monkeypatch.setattr(trained, "RACE_DIR", race_nets)
    return race_nets


@pytest.fixture
def no_race_nets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """As if the shipped race nets had not landed in this install."""
    import resnet_core.insight.trained as trained

    monkeypatch.setattr(trained, "RACE_DIR", tmp_path / "absent")
    return tmp_path / "absent"
