"""``python -m resnet_core finetune``: progress on stderr, one JSON line last on stdout, and a
one-line message with exit status 1 for every kind of bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pictures import dataset_zip, declare_size, shape_picture, write_folder, zip_bytes

from resnet_core import finetune
from resnet_core.cli import finetune as finetune_cli
from resnet_core.cli import main as cli
from resnet_core.checkpoint import load_checkpoint, shipped_checkpoint

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"backbone", "mode", "classes", "train_images", "val_images", "val_acc", "seconds"}

pytestmark = pytest.mark.skipif(shipped_checkpoint() is None, reason="the shipped CIFAR-10 checkpoint is not in this install")


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["finetune", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_folder_end_to_end_in_a_subprocess(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "shapes", per_class=6)
    (root / "circle" / "notes.txt").write_text("not a picture")
    out = tmp_path / "models" / "ft.pt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "resnet_core", "finetune", str(root), "--epochs", "5", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    summary = last_json(proc.stdout)
    assert KEYS <= summary.keys()
    assert summary["backbone"] == "shipped" and summary["mode"] == "linear"
    assert summary["classes"] == ["circle", "square"]
    assert (summary["train_images"], summary["val_images"]) == (10, 2)
    assert summary["val_acc"] == 1.0 and summary["seconds"] > 0 and summary["skipped_files"] == 1
    assert "Features: 12 of 12 pictures" in proc.stderr and "Epoch 5 of 5" in proc.stderr
    assert "circle/notes.txt" in proc.stderr and "Traceback" not in proc.stderr
    assert load_checkpoint(out).classes == ("circle", "square")


def test_zip_last_stage_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pets.zip"
    path.write_bytes(dataset_zip(prefix="pets/", classes=("circle", "square", "triangle"), per_class=5))
    code, out, err = run_main(capsys, path, "--mode", "last-stage", "--epochs", "1", "--val-fraction", "0.4", "--seed", "2")
    assert code == 0, err
    summary = last_json(out)
    assert summary["mode"] == "last-stage" and summary["classes"] == ["circle", "square", "triangle"]
    assert (summary["train_images"], summary["val_images"]) == (9, 6)
    assert "(last-stage)" in err


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "absent", "does not exist"),
        (lambda p: _write(p / "evil.zip", zip_bytes({"a/1.png": b"x", "../b/2.png": b"y"})), "unsafe path"),
        (lambda p: _write(p / "one.zip", dataset_zip(classes=("circle",), per_class=3)), "at least 2 classes"),
        (lambda p: _write(p / "thin.zip", zip_bytes({"a/1.png": shape_picture("circle", 1), "a/2.png": shape_picture("circle", 2),
                                                     "b/1.png": shape_picture("square", 1)})), "'b' (1)"),
        (lambda p: _write(p / "text.zip", b"plain text"), "not a readable zip"),
        (lambda p: _write(p / "dup.zip", zip_bytes({"Cat/1.png": b"x", "cat/1.png": b"y"})), "already a class"),
    ],
    ids=["missing", "traversal", "one-class", "thin-class", "not-a-zip", "duplicate-names"],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message: str) -> None:
    code, out, err = run_main(capsys, make(tmp_path))
    assert code == 1
    assert out == ""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err
    assert "Traceback" not in err


def test_zip_bomb_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "bomb.zip", declare_size(dataset_zip(per_class=2), "square/square_1.png", 2**31))
    code, out, err = run_main(capsys, path)
    assert code == 1 and out == ""
    assert "unpacks to 2,048 MB; the limit is 256 MB (a zip bomb" in err


def test_missing_weights_offer_shipped_and_prefetch(tmp_path: Path, capsys: pytest.CaptureFixture[str], hub_dir: Path) -> None:
    root = write_folder(tmp_path / "shapes", per_class=2)
    code, out, err = run_main(capsys, root, "--backbone", "resnet18")
    assert code == 1 and out == ""
    assert "prefetch --weights resnet18" in err and "--backbone shipped" in err
    assert "reading pictures" not in err  # checked before reading anything
    code, _, err = run_main(capsys, root, "--backbone", "resnet34", "--weights", "V2")
    assert code == 1 and "no V2 weights for resnet34" in err


@pytest.mark.parametrize("args", [["--val-fraction", "1.5"], ["--epochs", "0"], ["--backbone", "vgg16"], ["--mode", "all"]])
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["finetune", str(tmp_path), *args])
    assert exit_info.value.code == 2


def test_the_cli_spells_the_core_constants_the_same() -> None:
    assert finetune_cli.MODES == finetune.MODES
    assert list(finetune_cli.WEIGHTS) == list(finetune.WEIGHTS)
    assert finetune_cli.DEFAULT_EPOCHS == finetune.DEFAULT_EPOCHS
    assert finetune_cli.backbone_names() == finetune.backbone_names()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
