"""Finished runs on the server's disk, so ``?run=`` reopens a race or a training after a restart (issue #18).

The server's runs (:mod:`resnet_core.jobs.runs`) keep an ended job in memory for ``$RESNET_KEEP_S``;
this archive keeps it for days, so a view can be prepared the day before a talk. When a race or a
single training ends with results (finished, stopped, diverged), its record goes to
``$RESNET_RUNS_DIR``, two files per run id:

- ``<run id>.json``: the snapshot the Train page draws (curves, verdict, config, result numbers),
  as plain data (:meth:`~resnet_core.jobs.race.RaceSnapshot.to_json`), never a pickle;
- ``<run id>.<token>.pt``: the trained networks' state dicts, read back with
  ``torch.load(weights_only=True)`` into networks rebuilt from the record's config.

Each file is written to a temporary name and renamed, weights first, so a record names only
weights that are complete. The folder is bounded: at most ``$RESNET_RUNS_KEEP`` runs and
``$RESNET_RUNS_MAX_MB`` megabytes, the oldest removed first, and nothing older than
``$RESNET_RUNS_DAYS`` days; ``$RESNET_RUNS_KEEP=0`` turns the archive off. Paths are built only
from a valid run id and names this module made; a record that cannot be read is skipped with a
log line. Fine-tunes are not archived: they start from uploaded pictures, which never leave
memory. One server process per folder: the lock that orders writes and pruning is a thread lock.

Nothing here imports torch at import time: the server's runs, which every page's sidebar reads,
hold one of these.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

from resnet_core import settings
from resnet_core.jobs.runid import valid_run_id
from resnet_core.jobs.setting_default import SettingDefault

if TYPE_CHECKING:
    from torch import nn

    from resnet_core.jobs.job import Job

__all__ = ["FORMAT", "Archive"]

log = logging.getLogger(__name__)

#: The record layout's version; a record of another version is skipped.
FORMAT = 1
#: States whose runs are worth reopening (a failed run has nothing to draw).
ARCHIVED_STATES = frozenset({"finished", "stopped", "diverged"})

_RECORD = re.compile(r"([0-9a-f]{32})\.json")
_WEIGHTS = re.compile(r"([0-9a-f]{32})\.[0-9a-f]{8}\.pt")
_TEMP = re.compile(r"\.([0-9a-f]{32})\.[0-9a-f.]*(json|pt)\.[0-9a-f]{8}\.tmp")


class Archive:
    """Finished runs by run id in one folder, bounded by count, size and age.

    ``folder``, ``keep``, ``max_mb`` and ``days`` default to the settings (read when used).
    ``wall_clock`` dates the records (seconds since the epoch; tests pass a fake one).
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        keep: int | None = None,
        max_mb: float | None = None,
        days: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._folder = None if folder is None else Path(folder)
        self._keep, self._max_mb, self._days = keep, max_mb, days
        self._wall = wall_clock
        self._lock = threading.Lock()

    folder = SettingDefault(settings.runs_dir)
    keep = SettingDefault(settings.runs_keep)
    max_mb = SettingDefault(settings.runs_max_mb)
    days = SettingDefault(settings.runs_days)

    # --- writing -------------------------------------------------------------------------------

    def save(self, run_id: str, job: Any) -> bool:
        """Write the record of ``job``, an ended race or training with results; True if it is on disk.

        A run id's record is its latest run: it replaces an earlier one, and a run not worth
        keeping (a fine-tune, a failed run, one stopped before its first result) removes it, as
        starting a run under an id replaces its ended job in memory. A disk that refuses is
        logged, never raised: the run stays in memory all the same.
        """
        if not valid_run_id(run_id):
            return False
        try:
            keep = self.keep
            found = _contents(job.snapshot())
            folder = self.folder
            if found is None or keep == 0:
                if folder.is_dir():
                    with self._lock:
                        _discard(folder, run_id)
                        self._prune_locked(folder, keep)
                return False
            kind, snapshot, networks = found
            with self._lock:
                folder.mkdir(parents=True, exist_ok=True)
                now = self._wall()
                weights = f"{run_id}.{secrets.token_hex(4)}.pt"
                _write_atomic(folder / weights, lambda f: _save_weights(networks, f), now)
                record = {
                    "format": FORMAT, "kind": kind, "run_id": run_id, "saved_at": now, "weights": weights,
                    "num_classes": [_num_classes(net) for net in networks], "snapshot": snapshot,
                }  # fmt: skip
                text = json.dumps(record).encode()
                _write_atomic(folder / f"{run_id}.json", lambda f: f.write(text), now)
                for old in folder.glob(f"{run_id}.*.pt"):
                    if old.name != weights and _WEIGHTS.fullmatch(old.name):
                        old.unlink(missing_ok=True)
                self._prune_locked(folder, keep)
                kept = (folder / f"{run_id}.json").exists()
        except Exception:  # noqa: BLE001 - a full disk or a bad setting must not break the server's runs
            log.exception("could not archive run %s in %s", run_id, self._folder or "$RESNET_RUNS_DIR")
            return False
        if not kept:
            log.warning("run %s is larger than $RESNET_RUNS_MAX_MB on its own: not kept on disk", run_id)
        return kept

    def prune(self) -> list[str]:
        """Apply the bounds now; the run ids removed."""
        folder = self.folder
        if not folder.is_dir():
            return []
        with self._lock:
            return self._prune_locked(folder, self.keep)

    def _prune_locked(self, folder: Path, keep: int) -> list[str]:
        now, max_bytes, max_age = self._wall(), self.max_mb * 1e6, self.days * 86_400.0
        groups: dict[str, list[Path]] = {}
        for path in folder.iterdir():
            if _TEMP.fullmatch(path.name):  # left by a crash mid-write: writes hold this lock
                path.unlink(missing_ok=True)
                continue
            match = _RECORD.fullmatch(path.name) or _WEIGHTS.fullmatch(path.name)
            if match:
                groups.setdefault(match.group(1), []).append(path)
        runs = []  # (saved, bytes, run id, files): the record's mtime is its saved_at
        for run_id, files in groups.items():
            record = folder / f"{run_id}.json"
            if record not in files:  # weights whose record never got written
                for path in files:
                    path.unlink(missing_ok=True)
                continue
            stats = [p.lstat() for p in files]
            runs.append((record.lstat().st_mtime, sum(s.st_size for s in stats), run_id, files))
        removed: list[str] = []
        kept = total = 0
        full = False
        for saved, size, run_id, files in sorted(runs, reverse=True):  # newest first
            # Once one run does not fit, every older one goes too: the oldest are removed first.
            full = full or kept >= keep or total + size > max_bytes
            if full or now - saved > max_age:
                for path in sorted(files, key=lambda p: p.suffix != ".json"):  # the record first
                    path.unlink(missing_ok=True)
                removed.append(run_id)
                continue
            kept, total = kept + 1, total + size
        if removed:
            log.info("archive of finished runs: removed %d old run(s) from %s", len(removed), folder)
        return removed

    # --- reading -------------------------------------------------------------------------------

    def load(self, run_id: str | None, *, clock: Callable[[], float] = time.monotonic) -> "Job[Any, Any] | None":
        """The archived run as an ended job (``snapshot()`` draws it again), or None.

        None for an invalid id, a run not on disk, or a record that cannot be read (logged).
        ``clock``: the server's runs' clock, which the job's ``ended_at`` is read on.
        """
        if not valid_run_id(run_id):
            return None
        assert run_id is not None
        folder = self.folder
        record_path = folder / f"{run_id}.json"
        try:
            if not record_path.is_file():
                return None
            _check_inside(folder, record_path)
            record = json.loads(record_path.read_text(encoding="utf-8"))
            return _restore(folder, run_id, record, clock)
        except Exception as exc:  # noqa: BLE001 - a corrupt record is skipped: the page starts afresh
            log.warning("archived run %s in %s cannot be read, skipped: %s: %s",
                        run_id, folder, type(exc).__name__, str(exc)[:300])
            return None


# --- records ---------------------------------------------------------------------------------


def _contents(snap: Any) -> tuple[str, dict[str, Any], list["nn.Module"]] | None:
    """(kind, snapshot as plain data, trained networks) for a snapshot worth archiving, else None."""
    # Imported here: the job modules load torch, and the server's runs must not (a race or a
    # training in memory has loaded them already).
    from resnet_core.jobs.race import RaceSnapshot
    from resnet_core.jobs.training import TrainingSnapshot

    if getattr(snap, "state", None) not in ARCHIVED_STATES or getattr(snap, "result", None) is None:
        return None
    if isinstance(snap, RaceSnapshot):
        return "race", snap.to_json(), list(snap.result.models)  # type: ignore[union-attr]
    if isinstance(snap, TrainingSnapshot):
        return "training", snap.to_json(), [snap.result.model]  # type: ignore[union-attr]
    return None


def _restore(folder: Path, run_id: str, record: Any, clock: Callable[[], float]) -> "Job[Any, Any]":
    """The ended job a record describes, its networks rebuilt and loaded; ValueError if it does not fit."""
    from resnet_core.jobs.plaindata import from_plain
    from resnet_core.jobs.race import RaceJob, RaceSnapshot
    from resnet_core.jobs.training import TrainingJob, TrainingSnapshot
    from resnet_core.race import RaceConfig
    from resnet_core.train import TrainConfig

    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("run_id") != run_id:
        raise ValueError(f"not a format-{FORMAT} record of this run")
    weights = record.get("weights")
    if not isinstance(weights, str) or not _WEIGHTS.fullmatch(weights) or not weights.startswith(run_id):
        raise ValueError(f"bad weights file name {weights!r}")
    num_classes = record.get("num_classes")
    snapshot = record.get("snapshot")
    if not isinstance(snapshot, dict) or not isinstance(num_classes, list):
        raise ValueError("no snapshot")
    kind = record.get("kind")
    if kind == "race":
        config = from_plain(RaceConfig, snapshot.get("config"))
        width = {} if config.widths is None else {"widths": config.widths}
        specs = [(c.model, c.residual, width) for c in config.contenders]
    elif kind == "training":
        train_config = from_plain(TrainConfig, snapshot.get("config"))
        specs = [(train_config.model, train_config.residual, {})]
    else:
        raise ValueError(f"unknown kind {kind!r}")
    networks = _load_networks(folder / weights, specs, num_classes)
    if kind == "race":
        return RaceJob.restored(RaceSnapshot.from_json(snapshot, networks), clock=clock)
    return TrainingJob.restored(TrainingSnapshot.from_json(snapshot, networks[0]), clock=clock)


def _load_networks(
    path: Path, specs: list[tuple[str, bool, dict[str, Any]]], num_classes: list[Any]
) -> list["nn.Module"]:
    """Networks built from ``specs`` with the weights in ``path`` (``weights_only``: no code runs)."""
    import torch

    from resnet_core.models import create_model

    _check_inside(path.parent, path)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    states = payload.get("models") if isinstance(payload, dict) else None
    if not isinstance(states, list) or len(states) != len(specs) or len(num_classes) != len(specs):
        raise ValueError(f"{path.name} holds no weights for {len(specs)} network(s)")
    networks = []
    for (model, residual, kwargs), classes, state in zip(specs, num_classes, states):
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
            raise ValueError(f"bad number of classes {classes!r}")
        net = create_model(model, num_classes=classes, residual=residual, **kwargs)
        net.load_state_dict(state)  # strict: a record of another architecture fails here
        networks.append(net.float().eval())
    return networks


def _save_weights(networks: list["nn.Module"], f: IO[bytes]) -> None:
    import torch

    torch.save({"models": [{k: v.detach().cpu() for k, v in net.state_dict().items()} for net in networks]}, f)


def _num_classes(net: "nn.Module") -> int:
    from torch import nn

    return int(next(m for m in reversed(list(net.modules())) if isinstance(m, nn.Linear)).out_features)


# --- files -----------------------------------------------------------------------------------


def _discard(folder: Path, run_id: str) -> None:
    """Remove the record of ``run_id`` (a valid id) and its weights, if any."""
    (folder / f"{run_id}.json").unlink(missing_ok=True)
    for path in folder.glob(f"{run_id}.*.pt"):
        if _WEIGHTS.fullmatch(path.name):
            path.unlink(missing_ok=True)


def _check_inside(folder: Path, path: Path) -> None:
    """Refuse a link or anything that resolves outside ``folder``: nothing else is ever read."""
    if path.is_symlink() or path.resolve().parent != folder.resolve():
        raise ValueError(f"{path.name} is not a file of the archive folder")


def _write_atomic(path: Path, write: Callable[[IO[bytes]], Any], mtime: float) -> None:
    """Write ``path`` through a temporary file renamed over it: a reader sees the old or the new, whole."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.utime(temp, (mtime, mtime))  # a record's mtime is its date: pruning reads no JSON
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
