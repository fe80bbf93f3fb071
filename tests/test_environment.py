"""Settings, device selection and the machine status the sidebar shows."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from resnet_core.device import describe_device, pick_device
from resnet_core.environment import cached_pretrained, find_cifar10_dir, machine_status
from resnet_core.settings import CACHE_DIR_ENV, DATA_DIR_ENV, SAMPLES_DIR_ENV, cache_dir, samples_dir


def fake_cifar(root: Path) -> Path:
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    for name in ("data_batch_1", "test_batch"):
        (d / name).write_bytes(b"x")
    return d


def test_data_dir_accepts_the_batches_dir_or_its_parent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    d = fake_cifar(tmp_path / "data")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    assert find_cifar10_dir() == d
    monkeypatch.setenv(DATA_DIR_ENV, str(d))
    assert find_cifar10_dir() == d


def test_download_cache_is_found_without_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    assert find_cifar10_dir() is None
    d = fake_cifar(tmp_path / "data")
    assert cache_dir() == tmp_path
    assert find_cifar10_dir() == d


def test_samples_dir_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SAMPLES_DIR_ENV, str(tmp_path / "missing"))
    assert samples_dir() is None
    monkeypatch.setenv(SAMPLES_DIR_ENV, str(tmp_path))
    assert samples_dir() == tmp_path


def test_cached_pretrained_reads_torch_hub_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert cached_pretrained() == ()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "resnet50-0676ba61.pth").write_bytes(b"")
    assert cached_pretrained() == ("resnet50",)
    assert machine_status().pretrained_cached == ("resnet50",)


def test_pick_device() -> None:
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")
        assert describe_device().startswith("CPU (")


def test_cpu_recipe_follows_the_instruction_sets() -> None:
    from resnet_core.device import CpuFeatures, cpu_recipe

    avx512_bf16 = CpuFeatures(avx2=True, avx512=True, bf16=True)
    avx2 = CpuFeatures(avx2=True, avx512=False, bf16=False)
    assert cpu_recipe(avx512_bf16) == "bf16" and str(avx512_bf16) == "AVX-512, bf16"
    assert cpu_recipe(avx2) == "fp32" and str(avx2) == "AVX2, no bf16"
    assert cpu_recipe(CpuFeatures(avx2=True, avx512=True, bf16=False)) == "fp32"  # AVX-512 without bf16


def test_torch_hub_dir_follows_torch_without_importing_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from resnet_core.environment import torch_hub_dir

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert torch_hub_dir() == Path(torch.hub.get_dir())  # torch is loaded here: torch answers
    monkeypatch.delitem(sys.modules, "torch")  # as in a server that has not imported torch yet
    assert torch_hub_dir() == tmp_path / "th" / "hub"
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert torch_hub_dir() == tmp_path / "xdg" / "torch" / "hub"
