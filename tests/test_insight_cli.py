"""``python -m resnet_core experiment gradient-flow | shattered | lesion``: progress on stderr, one JSON line last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_core.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "resnet_core", "experiment", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_gradient_flow_and_shattered_print_one_json_object_last() -> None:
    proc = run_cli("gradient-flow", "--depths", "20,32", "--synthetic", "--batch", "16", "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    assert result["experiment"] == "gradient-flow" and result["seed"] == 1 and result["synthetic"] is True
    runs = result["runs"]
    assert [(r["model"], r["residual"]) for r in runs] == [
        ("resnet20", False), ("resnet20", True), ("resnet32", False), ("resnet32", True)]
    assert len(runs[0]["layers"]) == len(runs[0]["relative_grad_norms"]) == 19 and runs[0]["layers"][0] == "conv1"
    assert all(g > 0 for r in runs for g in r["relative_grad_norms"])
    assert "gradient flow: plain-20" in proc.stderr and "log10(max/min)" in proc.stderr

    proc = run_cli("shattered", "--depths", "20", "--synthetic", "--batch", "8")
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    assert result["experiment"] == "shattered" and result["points"] == 256
    assert [r["residual"] for r in result["runs"]] == [False, True]
    assert all(-1 <= r["autocorrelation"] <= 1 for r in result["runs"])


@pytest.mark.slow
def test_lesion_on_trained_nets(race_nets: Path) -> None:
    proc = run_cli("lesion", "--depths", "20", "--checkpoint-dir", str(race_nets), "--images", "64")
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    assert result["experiment"] == "lesion"
    plain, residual = result["runs"]
    assert (plain["model"], plain["residual"], residual["residual"]) == ("resnet20", False, True)
    assert [b["name"] for b in residual["blocks"]][:4] == ["layer1.0", "layer1.1", "layer1.2", "layer2.0"]
    assert all(b["acc"] is not None for b in residual["blocks"])
    assert [b["name"] for b in plain["blocks"] if b["acc"] is None] == ["layer2.0", "layer3.0"]
    assert 0 <= plain["baseline_acc"] <= 1 and residual["multi"][0] == {
        "deleted": 0, "acc": residual["baseline_acc"], "accs": [residual["baseline_acc"]]}
    assert "lesion: plain20" in proc.stderr


def test_lesion_without_trained_nets_says_which_file_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = cli.main(["experiment", "lesion", "--checkpoint-dir", str(tmp_path), "--synthetic"])
    assert code == 1
    assert str(tmp_path / "plain56.pt") in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["experiment", "gradient-flow", "--depths", "21"],
    ["experiment", "gradient-flow", "--depths", "twenty"],
    ["experiment", "nonsense"],
    ["experiment", "shattered", "--batch", "1"],
])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_lesion_depth_without_trained_nets(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["experiment", "lesion", "--depths", "110", "--synthetic"]) == 1
    assert "depths 20,56 only" in capsys.readouterr().err


def test_quiet_leaves_stdout_one_json_line_and_stderr_empty(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["experiment", "gradient-flow", "--depths", "20", "--synthetic", "--batch", "4", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and len(out.strip().splitlines()) == 1
    assert [r["residual"] for r in json.loads(out)["runs"]] == [False, True]
