"""``python -m resnet_core``: train (single process and torchrun), experiment, info, prefetch, bad arguments.

End-to-end tests run the command in a subprocess, as a user would; argument errors run
``main()`` in-process because they never get as far as importing the trainer's work.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_core.cli import main as cli
from resnet_core.cli import train as cli_train
from resnet_core.cli.common import EXIT_ERROR
from resnet_core.checkpoint import load_checkpoint
from resnet_core.data import DataError

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--synthetic", "--subset", "256", "--test-subset", "64", "--batch-size", "32", "--epochs", "1",
        "--device", "cpu", "--log-every", "2"]
KEYS = {"model", "residual", "device", "epochs_completed", "train_seconds", "images_per_second", "test_acc",
        "test_loss", "status", "world_size"}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def check_summary(stdout: str, *, model: str, residual: bool, world_size: int) -> dict:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, f"stdout must be exactly one JSON line, got: {stdout!r}"
    summary = json.loads(lines[0])
    assert KEYS <= summary.keys()
    assert summary["model"] == model and summary["residual"] is residual
    assert summary["status"] == "finished" and summary["device"] == "cpu"
    assert summary["world_size"] == world_size
    assert summary["epochs_completed"] == 1
    assert summary["test_acc"] is not None
    assert math.isfinite(summary["test_loss"]) and summary["test_loss"] > 0
    assert summary["train_seconds"] > 0 and summary["images_per_second"] > 0
    return summary


@pytest.mark.slow
def test_train_prints_progress_and_one_json_line_and_saves_a_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "plain.pt"
    proc = run_cli("-m", "resnet_core", "train", "--model", "resnet9_w16", "--no-residual", *TINY,
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    check_summary(proc.stdout, model="resnet9_w16", residual=False, world_size=1)
    assert "step      2" in proc.stderr and "epoch   1 done" in proc.stderr  # the progress display
    assert "Traceback" not in proc.stderr
    checkpoint = load_checkpoint(out)
    assert checkpoint.model_name == "resnet9_w16" and checkpoint.residual is False
    assert checkpoint.metrics["epochs_completed"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--model", "resnet1000"], "argument --model: invalid choice"),
        (["train", "--model", "resnet20", "--epochs", "1", "--budget", "5"], "not allowed with argument"),
        (["train", "--model", "resnet20", "--epochs", "-1"], "must be a positive number"),
        (["train", "--model", "resnet20", "--batch-size", "0"], "must be a positive whole number"),
        (["train", "--model", "resnet20", "--synthetic", "--optimizer", "adam"], "argument --optimizer: invalid choice"),
        (["experiment", "lottery"], "argument NAME: invalid choice"),
        (["experiment", "degradation", "--scale", "huge"], "argument --scale: invalid choice"),
        (["experiment", "degradation", "--synthetic", "--steps", "0"], "--steps must be at least 1"),
        (["train", "--model", "resnet20", "--synthetic", "--momentum", "1.5"], "momentum must be in [0, 1)"),
        (["prefetch", "--weights", "resnet20"], "argument --weights: invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cuda_without_a_gpu_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--model", "resnet20", "--synthetic", "--device", "cuda"])
    assert exit_.value.code == 2
    assert "no CUDA GPU is available" in capsys.readouterr().err


def test_missing_data_is_an_error_line_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = cli.main(["train", "--model", "resnet20", "--data-dir", str(tmp_path / "none"), "--epochs", "1"])
    assert code == EXIT_ERROR
    out, err = capsys.readouterr()
    assert out == ""  # no JSON for a run that never started
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: CIFAR-10 directory") and last.endswith("point at the cifar-10-batches-py folder")
    assert "Traceback" not in err


def test_info_prints_the_machine_status(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["info"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("device:") and ("CPU" in text or "CUDA" in text)
    assert "CIFAR-10:" in text and "ImageNet weights:" in text
    assert cli.main(["info", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert set(status) == {"device", "cifar10_dir", "pretrained_cached", "timm_cached"}


def test_prefetch_reports_failures_without_downloading(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    import resnet_core.data

    def offline(progress: bool = True) -> Path:
        raise DataError("could not download CIFAR-10: this machine may be offline")

    monkeypatch.setattr(resnet_core.data, "download_cifar10", offline)
    assert cli.main(["prefetch", "--cifar"]) == EXIT_ERROR
    assert "CIFAR-10: could not download CIFAR-10: this machine may be offline" in capsys.readouterr().err


def test_prefetch_downloads_each_named_weight(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                              tmp_path: Path) -> None:
    import types

    fetched: list[str] = []

    def download_weights(name: str, progress: bool = True) -> Path:
        fetched.append(name)
        if name == "resnet50":
            raise OSError("connection refused")
        return tmp_path / f"{name}.pth"

    monkeypatch.setitem(sys.modules, "resnet_core.pretrained",
                        types.SimpleNamespace(download_weights=download_weights))
    assert cli.main(["prefetch", "--weights", "resnet18", "resnet50"]) == EXIT_ERROR  # one failed
    out, err = capsys.readouterr()
    assert fetched == ["resnet18", "resnet50"]
    assert f"resnet18: {tmp_path / 'resnet18.pth'}" in out
    assert "resnet50: download failed: connection refused" in err


@pytest.mark.slow
def test_torchrun_two_cpu_processes_print_one_json_line(tmp_path: Path) -> None:
    out = tmp_path / "ddp.pt"
    proc = run_cli("-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                   "-m", "resnet_core", "train", "--model", "resnet20", *TINY, "--out", str(out), timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = check_summary(proc.stdout, model="resnet20", residual=True, world_size=2)
    # 256 images, 2 ranks x 128, batch 32 per rank: 4 steps of 64 images, all counted once.
    assert summary["images_per_second"] * summary["train_seconds"] == pytest.approx(256, rel=0.05)
    assert proc.stderr.count("training residual resnet20") == 1  # only rank 0 talks
    assert proc.stderr.count("saved checkpoint") == 1
    assert load_checkpoint(out).model_name == "resnet20"


def test_train_defaults_to_the_devices_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    from resnet_core.train import single_run_recipe

    args = cli.build_parser().parse_args(["train", "--synthetic", "--device", "cpu"])
    config = cli_train._train_config(args)
    assert config.model == single_run_recipe("cpu").model  # no --model needed
    assert config.data == "synthetic" and config.residual is True


@pytest.mark.slow
def test_experiment_degradation_prints_one_json_object(tmp_path: Path) -> None:
    """The race from the command line: progress on stderr, one JSON object on stdout, files on request."""
    curves, models = tmp_path / "curves.json", tmp_path / "nets"
    proc = run_cli("-m", "resnet_core", "experiment", "degradation", "--synthetic", "--steps", "4", "--device", "cpu",
                   "--seed", "1", "--save-curves", str(curves), "--save-models", str(models), timeout=240)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert {k: summary[k] for k in ("experiment", "scale", "device", "seed")} == {
        "experiment": "degradation", "scale": "quick", "device": "cpu", "seed": 1}
    assert summary["data"].startswith("Synthetic shapes") and summary["wall_s"] > 0
    assert [(r["label"], r["model"], r["depth"], r["residual"], r["steps"]) for r in summary["runs"]] == [
        ("plain-20", "resnet20", 20, False, 4), ("plain-56", "resnet56", 56, False, 4),
        ("ResNet-56", "resnet56", 56, True, 4)]
    for r in summary["runs"]:
        assert r["train_error"] is not None and r["test_error"] is not None
    assert "step      4" in proc.stderr and "synthetic shapes (not CIFAR-10)" in summary["verdict"]
    saved = json.loads(curves.read_text())
    assert saved["command"].startswith("python -m resnet_core experiment degradation") and saved["machine"]["cores"] >= 1
    assert set(saved["curves"]["runs"]) == {r["label"] for r in summary["runs"]}
    net = load_checkpoint(models / "plain56.pt")
    assert (net.model_name, net.residual, net.input_size, net.model_kwargs) == ("resnet56", False, 16, {"widths": [8, 16, 32]})
    assert json.loads((models / "plain56.json").read_text())["steps"] == 4


def test_pyproject_installs_every_package_of_resnet_core() -> None:
    # setuptools installs only the listed packages: a missing resnet_core.cli breaks the `resnet-core` script.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "resnet_core").rglob("__init__.py")}
    assert listed == on_disk
    assert config["project"]["scripts"]["resnet-core"] == "resnet_core.__main__:main"


@pytest.mark.slow
def test_a_short_run_that_blows_up_exits_3_and_says_so(cifar10_dir: Path) -> None:
    # Issue 19, item 4: at lr 10 a 20 s run blows up for fewer steps than the step-by-step watch
    # needs, then ends at chance; it used to exit 0 as "finished".
    proc = run_cli("-m", "resnet_core", "train", "--model", "resnet20", "--data-dir", str(cifar10_dir), "--budget", "20",
                   "--lr", "10",
                   "--device", "cpu", timeout=240)
    assert proc.returncode == 3, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["status"] == "diverged" and summary["outcome"] == "diverged"
    assert "lower the learning rate" in summary["message"] and summary["test_acc"] is None
