"""The CPU quota of a container (issue 19): read from fake cgroup files, and applied to torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_core import device
from resnet_core.device import cpu_quota, set_cpu_threads, usable_cpus


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v2(tmp_path: Path, cpu_max: str | None, own: str = "/app", parent_max: str | None = None) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    _write(root / "cgroup.controllers", "cpu memory\n")
    if cpu_max is not None:
        _write(root / own.lstrip("/") / "cpu.max", cpu_max)
    if parent_max is not None:
        _write(root / Path(own.lstrip("/")).parent / "cpu.max", parent_max)
    (root / own.lstrip("/")).mkdir(parents=True, exist_ok=True)
    proc = tmp_path / "proc_cgroup"
    _write(proc, f"0::{own}\n")
    return root, proc


def v1(tmp_path: Path, quota: int, period: int = 100000, own: str = "/docker/abc") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    group = root / "cpu,cpuacct" / own.lstrip("/")
    _write(group / "cpu.cfs_quota_us", f"{quota}\n")
    _write(group / "cpu.cfs_period_us", f"{period}\n")
    proc = tmp_path / "proc_cgroup"
    _write(proc, f"12:memory:{own}\n4:cpu,cpuacct:{own}\n1:name=systemd:{own}\n")
    return root, proc


@pytest.mark.parametrize(("cpu_max", "cores"), [("100000 100000", 1.0), ("50000 100000", 0.5),
                                                 ("150000 100000", 1.5), ("max 100000", None)])
def test_cgroup_v2_quota_in_cores(tmp_path: Path, cpu_max: str, cores: float | None) -> None:
    assert cpu_quota(*v2(tmp_path, cpu_max)) == cores


def test_a_parent_groups_limit_applies_and_the_smallest_wins(tmp_path: Path) -> None:
    assert cpu_quota(*v2(tmp_path, "max 100000", own="/kubepods/pod1", parent_max="200000 100000")) == 2.0
    assert cpu_quota(*v2(tmp_path / "b", "30000 100000", own="/kubepods/pod1", parent_max="200000 100000")) == 0.3


@pytest.mark.parametrize(("quota", "cores"), [(100000, 1.0), (25000, 0.25), (-1, None)])
def test_cgroup_v1_quota_in_cores(tmp_path: Path, quota: int, cores: float | None) -> None:
    assert cpu_quota(*v1(tmp_path, quota)) == cores


def test_no_cgroup_files_means_no_quota(tmp_path: Path) -> None:
    assert cpu_quota(tmp_path / "nothing", tmp_path / "no_proc_file") is None


@pytest.mark.parametrize(("quota", "affinity", "usable"), [(100000, 2, 1), (7800, 2, 1), (150000, 2, 2),
                                                           (400000, 2, 2), (-1, 2, 2), (-1, 1, 1)])
def test_usable_cpus_is_the_affinity_capped_by_the_quota_rounded_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quota: int, affinity: int, usable: int) -> None:
    monkeypatch.setattr(device, "cpu_cores", lambda: affinity)
    assert usable_cpus(*v1(tmp_path, quota)) == usable


def test_the_thread_count_is_applied_to_torch_and_the_sidebar_names_the_quota(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    root, proc = v1(tmp_path, 100000)
    monkeypatch.setattr(device, "CGROUP_ROOT", root)
    monkeypatch.setattr(device, "PROC_CGROUP", proc)
    monkeypatch.setattr(device, "cpu_cores", lambda: 2)
    # The defaults are bound at definition time: rebind them as a caller in this process sees them.
    monkeypatch.setattr(device.cpu_quota, "__defaults__", (root, proc))
    monkeypatch.setattr(device.usable_cpus, "__defaults__", (root, proc))
    before = torch.get_num_threads()
    try:
        assert set_cpu_threads() == 1
        assert torch.get_num_threads() == 1
        assert "2 cores, quota 1" in device._describe_cpu()
    finally:
        torch.set_num_threads(before)
