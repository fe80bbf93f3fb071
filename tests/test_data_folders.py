"""What a visitor may type into the CIFAR-10 folder box, and what the answers give away.

``$RESNET_DATA_FOLDERS``: "auto" (default: "any" on localhost, "off" elsewhere), "any", "off", or
allowed roots. Whatever the setting, a
folder that does not exist, one that is not readable and one without a valid copy get the same
message, so the box cannot be used to map the server's files (issue #10).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import resnet_core.data as data
from resnet_core.data import DataError, visitor_cifar10_dir
from resnet_core.settings import DATA_FOLDERS_ENV, FolderPolicy, SettingError, data_folder_policy


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_IMAGES_PER_FILE", 10)
    monkeypatch.delenv(DATA_FOLDERS_ENV, raising=False)
    data.clear_cache()
    yield
    data.clear_cache()


def cifar_copy(parent: Path) -> Path:
    """A tiny but valid cifar-10-batches-py under ``parent`` (10 images per file)."""
    root = parent / "cifar-10-batches-py"
    root.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(root / name, "wb") as f:
            pickle.dump({b"data": np.zeros((10, 3072), np.uint8), b"labels": list(range(10))}, f)
    return root


def message(text: str, *, local: bool = True) -> str:
    with pytest.raises(DataError) as info:
        visitor_cifar10_dir(text, local=local)
    return str(info.value)


def test_by_default_any_readable_copy_is_accepted_on_localhost(tmp_path: Path) -> None:
    root = cifar_copy(tmp_path / "data")
    assert visitor_cifar10_dir(str(tmp_path / "data"), local=True) == root.resolve()  # the parent works too
    assert visitor_cifar10_dir(f"  {root}  ", local=True) == root.resolve()


def test_by_default_a_server_others_reach_reads_no_typed_folder(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = cifar_copy(tmp_path / "data")
    for setting in (None, "auto", "AUTO"):
        if setting is None:
            monkeypatch.delenv(DATA_FOLDERS_ENV, raising=False)
        else:
            monkeypatch.setenv(DATA_FOLDERS_ENV, setting)
        assert data_folder_policy(local=False) == FolderPolicy("off")
        assert data_folder_policy(local=True) == FolderPolicy("any")
        assert data_folder_policy() == FolderPolicy("off")  # not knowing is not local
        assert "does not read folders typed here" in message(str(root), local=False)
        with pytest.raises(DataError):
            visitor_cifar10_dir(str(root))


@pytest.mark.parametrize("local", [True, False])
def test_explicit_settings_hold_wherever_the_server_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         local: bool) -> None:
    root = cifar_copy(tmp_path / "data")
    monkeypatch.setenv(DATA_FOLDERS_ENV, "any")
    assert data_folder_policy(local) == FolderPolicy("any")
    assert visitor_cifar10_dir(str(root), local=local) == root.resolve()
    monkeypatch.setenv(DATA_FOLDERS_ENV, "off")
    assert data_folder_policy(local) == FolderPolicy("off")
    monkeypatch.setenv(DATA_FOLDERS_ENV, str(tmp_path))
    assert data_folder_policy(local) == FolderPolicy("roots", (tmp_path.resolve(),))
    assert visitor_cifar10_dir(str(root), local=local) == root.resolve()


def test_missing_unreadable_and_broken_folders_get_one_message(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = cifar_copy(tmp_path / "broken")
    (broken / "test_batch").write_bytes(b"not a pickle")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    answers = {message(str(p)) for p in (tmp_path / "no such folder", empty, broken, a_file, "/etc", "a\0b", "")}
    assert len(answers) == 1
    (answer,) = answers
    assert "No readable CIFAR-10 copy there" in answer
    assert "exist" not in answer and "missing" not in answer and "/etc" not in answer


def test_off_refuses_every_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = cifar_copy(tmp_path)
    monkeypatch.setenv(DATA_FOLDERS_ENV, "off")
    assert data_folder_policy() == FolderPolicy("off")
    assert message(str(root)) == message("/nonexistent")
    assert "does not read folders typed here" in message(str(root))


def test_roots_allow_only_folders_inside_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allowed, other = tmp_path / "allowed", tmp_path / "other"
    inside = cifar_copy(allowed / "cifar")
    outside = cifar_copy(other)
    (allowed / "escape").symlink_to(other)  # a link inside a root that points out of it
    monkeypatch.setenv(DATA_FOLDERS_ENV, f"{allowed}{os.pathsep}/srv/nothing-here")
    assert visitor_cifar10_dir(str(inside)) == inside.resolve()
    refused = f"only from folders inside `{allowed.resolve()}`"
    for text in (str(outside), f"{allowed}/../other", str(allowed / "escape"), "/"):
        assert refused in message(text), text
    # Inside a root, missing and broken folders still look alike.
    assert message(str(allowed / "nothing")) == message(str(allowed))


def test_a_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_FOLDERS_ENV, "relative/folder")
    with pytest.raises(SettingError, match=r"\$RESNET_DATA_FOLDERS must be 'any', 'off' or absolute folders"):
        data_folder_policy()
