"""Where the app finds its data and caches: environment variables with offline-friendly defaults.

Settings are read when asked for, never cached at import, so tests and the app can change them.
"""

from __future__ import annotations

import os
from pathlib import Path

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
