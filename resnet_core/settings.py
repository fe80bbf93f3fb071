"""Where the app finds its data and caches: environment variables with offline-friendly defaults.

Settings are read when asked for, never cached at import, so tests and the app can change them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: Directory holding CIFAR-10 (either ``cifar-10-batches-py`` itself or its parent).
DATA_DIR_ENV = "RESNET_DATA_DIR"
#: Directory of real photos used by tests and offered as samples (``../shared/samples`` in CI).
SAMPLES_DIR_ENV = "RESNET_SAMPLES_DIR"
#: Root of this project's caches (downloaded CIFAR-10, trained checkpoints).
CACHE_DIR_ENV = "RESNET_CACHE_DIR"

PACKAGE_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """The project's cache root: ``$RESNET_CACHE_DIR`` or ``~/.cache/resnet_core``."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "resnet_core"


def data_dir() -> Path | None:
    """The CIFAR-10 directory the user set in ``$RESNET_DATA_DIR``, if any."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else None


def samples_dir() -> Path | None:
    """The sample-photo directory set in ``$RESNET_SAMPLES_DIR``, if it exists."""
    env = os.environ.get(SAMPLES_DIR_ENV)
    if not env:
        return None
    path = Path(env).expanduser()
    return path if path.is_dir() else None


# --- Sharing one server between visitors (issue #10) ------------------------------------------

#: How many trainings may run at once in this process.
MAX_JOBS_ENV = "RESNET_MAX_JOBS"
#: Seconds a run may go on with no browser tab polling it before it stops on its own.
ABANDON_S_ENV = "RESNET_ABANDON_S"
#: Seconds a run's results stay available after it ended (and after a tab last looked at them).
KEEP_S_ENV = "RESNET_KEEP_S"
#: Wall seconds one run may hold a slot, watched or not (issue #19): one open tab must not keep
#: a public server's only slot for the hours a long race or run could take.
MAX_RUN_S_ENV = "RESNET_MAX_RUN_S"

#: One training at a time: two on a 2-core Community Cloud box halve each one's speed (OpenMP
#: threads wait on each other; bench/RESULTS.md measured ~1950 -> ~450 images/s each) and double
#: the memory. A GPU server can raise it.
DEFAULT_MAX_JOBS = 1
#: Two minutes: a reload reconnects in seconds, so a run nobody watched for this long was left behind.
DEFAULT_ABANDON_S = 120.0
#: Fifteen minutes of results (a trained model is a few MB) after the run and the last look at it.
DEFAULT_KEEP_S = 900.0
#: Fifteen minutes: the default race and a default single run end well inside it on
#: 2 cores, while a visitor who asks while the slot is taken waits at most this long.
DEFAULT_MAX_RUN_S = 900.0


# --- Finished runs kept on disk, so a view can be prepared the day before a talk (issue #18) ---

#: Folder of the archived finished runs (one JSON record and one weights file per run).
RUNS_DIR_ENV = "RESNET_RUNS_DIR"
#: How many finished runs the archive keeps (the oldest go first); 0 keeps none.
RUNS_KEEP_ENV = "RESNET_RUNS_KEEP"
#: Megabytes the archive may take on disk in all (the oldest runs go first).
RUNS_MAX_MB_ENV = "RESNET_RUNS_MAX_MB"
#: Days an archived run is kept.
RUNS_DAYS_ENV = "RESNET_RUNS_DAYS"

#: Enough for a week of lessons on a small server; the weights are most of each record.
DEFAULT_RUNS_KEEP = 50
DEFAULT_RUNS_MAX_MB = 200.0
DEFAULT_RUNS_DAYS = 7.0


class SettingError(ValueError):
    """An environment variable holds a value the app cannot use; the message names it."""


def _env_number(name: str, default: float, *, minimum: float, integer: bool = False, unit: str = "seconds") -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else f"a number of {unit}"
        raise SettingError(f"${name} must be {kind}, got {raw!r}") from None
    if not value >= minimum:  # also refuses NaN
        raise SettingError(f"${name} must be at least {minimum:g}, got {raw}")
    return value


def max_jobs() -> int:
    """``$RESNET_MAX_JOBS``: trainings at once in this process (default 1)."""
    return int(_env_number(MAX_JOBS_ENV, DEFAULT_MAX_JOBS, minimum=1, integer=True))


def abandon_s() -> float:
    """``$RESNET_ABANDON_S``: seconds without a watching tab before a run stops (default 120)."""
    return _env_number(ABANDON_S_ENV, DEFAULT_ABANDON_S, minimum=1)


def keep_s() -> float:
    """``$RESNET_KEEP_S``: seconds a finished run's results are kept (default 900)."""
    return _env_number(KEEP_S_ENV, DEFAULT_KEEP_S, minimum=0)


def runs_dir() -> Path:
    """``$RESNET_RUNS_DIR``: where finished runs are archived (default: ``runs`` in :func:`cache_dir`)."""
    env = os.environ.get(RUNS_DIR_ENV)
    return Path(env).expanduser() if env else cache_dir() / "runs"


def runs_keep() -> int:
    """``$RESNET_RUNS_KEEP``: finished runs kept on disk (default 50; 0: none are written)."""
    return int(_env_number(RUNS_KEEP_ENV, DEFAULT_RUNS_KEEP, minimum=0, integer=True))


def runs_max_mb() -> float:
    """``$RESNET_RUNS_MAX_MB``: megabytes the archived runs may take in all (default 200)."""
    return _env_number(RUNS_MAX_MB_ENV, DEFAULT_RUNS_MAX_MB, minimum=0, unit="megabytes")


def runs_days() -> float:
    """``$RESNET_RUNS_DAYS``: days an archived run is kept (default 7)."""
    return _env_number(RUNS_DAYS_ENV, DEFAULT_RUNS_DAYS, minimum=0, unit="days")


def max_run_s() -> float:
    """``$RESNET_MAX_RUN_S``: wall seconds one run may hold a slot before it is stopped (default 900)."""
    return _env_number(MAX_RUN_S_ENV, DEFAULT_MAX_RUN_S, minimum=1)


# --- What a visitor may type into the Train page's CIFAR-10 folder box (issue #10) ----------


# --- What a visitor may type into the Train page's CIFAR-10 folder box (issues #10, #19) -----

#: "auto" (the default): "any" when the app is served on this machine only (localhost), "off"
#: otherwise; "any": any folder; "off": no box, only the configured CIFAR-10 ($RESNET_DATA_DIR or
#: the download cache); or folders separated by ``os.pathsep`` (":" on Linux): only folders
#: inside one of them. A public server is safe with no setting (issue #19, item 5).
DATA_FOLDERS_ENV = "RESNET_DATA_FOLDERS"


@dataclass(frozen=True)
class FolderPolicy:
    """Which folders visitors may point the app at."""

    mode: Literal["any", "off", "roots"]
    roots: tuple[Path, ...] = ()  # resolved (symlinks and ".." followed), for mode "roots"

    def allows(self, path: Path) -> bool:
        """True if ``path`` (already resolved) may be read under this policy."""
        if self.mode == "any":
            return True
        if self.mode == "off":
            return False
        return any(path == root or root in path.parents for root in self.roots)


def data_folder_policy(local: bool = False) -> FolderPolicy:
    """``$RESNET_DATA_FOLDERS`` as a policy; ``local``: the app is served on this machine only.

    "auto" (the default) is "any" for a local server (a laptop, a talk: type any folder) and
    "off" for every other one; not knowing counts as not local. The page decides ``local`` from
    the request (webui/locality.py).
    """
    raw = os.environ.get(DATA_FOLDERS_ENV, "").strip()
    if raw.lower() in ("", "auto"):
        return FolderPolicy("any" if local else "off")
    if raw.lower() == "any":
        return FolderPolicy("any")
    if raw.lower() == "off":
        return FolderPolicy("off")
    given = [Path(part.strip()).expanduser() for part in raw.split(os.pathsep) if part.strip()]
    if not given or not all(root.is_absolute() for root in given):
        raise SettingError(f"${DATA_FOLDERS_ENV} must be 'any', 'off' or absolute folders separated by "
                           f"{os.pathsep!r} (or 'auto', the default: 'any' on localhost, 'off' elsewhere), got {raw!r}")
    return FolderPolicy("roots", tuple(Path(os.path.realpath(root)) for root in given))
