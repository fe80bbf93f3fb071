"""Every variant's summary and anatomy, precomputed and shipped: the Architecture page's switch.

Tracing a deep variant with torchinfo and walking it takes about a second on a quiet core, several
on a busy 2-core server (``bench/architecture_switch.py``); a visitor switching variants should not
wait for that. ``shipped_view(name, residual)`` reads both from ``reference/architecture.json``,
written by :func:`write_architecture` (``python -m resnet_core.architecture_file``), and computes
them only for a variant registered after the file was written. ``tests/test_architecture_file.py``
fails when the file no longer matches what the code computes.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_core.anatomy_records import NetworkAnatomy
from resnet_core.settings import PACKAGE_DIR

if TYPE_CHECKING:
    from resnet_core.summary import ModelSummary

__all__ = ["ARCHITECTURE_FILE", "compute_views", "shipped_anatomy", "shipped_view", "write_architecture"]

ARCHITECTURE_FILE = PACKAGE_DIR / "reference" / "architecture.json"


def _key(name: str, residual: bool) -> str:
    return f"{name}/{'residual' if residual else 'plain'}"


def compute_views(names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Summary and anatomy of each variant (default: every registered one) and its plain twin, as JSON-ready dicts."""
    # Imported here: reading the file must not load torch (the home page reads it).
    from resnet_core.anatomy import network_anatomy
    from resnet_core.models import list_models
    from resnet_core.summary import summarize

    out = {}
    for name in list_models() if names is None else names:
        for residual in (True, False):
            out[_key(name, residual)] = {
                "summary": dataclasses.asdict(summarize(name, residual=residual)),
                "anatomy": dataclasses.asdict(network_anatomy(name, residual=residual)),
            }
    return out


def write_architecture(path: str | Path = ARCHITECTURE_FILE) -> Path:
    """Compute every registered variant's views and write the file :func:`shipped_view` reads."""
    path = Path(path)
    # One line per view keeps the diff of a newly registered variant readable.
    lines = [f" {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in compute_views().items()]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    return path


@lru_cache(maxsize=None)
def _field_types(cls: type) -> tuple[tuple[str, Any], ...]:
    """(name, type) of each field of dataclass ``cls``; resolving the hints is the slow part, once per class."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def _build(cls: Any, value: Any) -> Any:
    """JSON back into the (nested, frozen) dataclass or tuple type ``cls``."""
    if dataclasses.is_dataclass(cls):
        return cls(**{name: _build(kind, value[name]) for name, kind in _field_types(cls)})
    origin, args = typing.get_origin(cls), typing.get_args(cls)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in value)
        return tuple(_build(a, v) for a, v in zip(args, value))
    return value  # str, int, bool, and the Literal shortcut kinds


@lru_cache(maxsize=1)
def _shipped(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # computed on demand instead


def shipped_anatomy(name: str, residual: bool = True, *, path: str | Path = ARCHITECTURE_FILE) -> NetworkAnatomy:
    """:func:`~resnet_core.anatomy.network_anatomy` of a variant, from the shipped file without torch.

    Computed now (loading torch) if the file lacks the variant or is missing; raises ``KeyError``
    (listing the names) for an unknown model.
    """
    entry = _shipped(Path(path)).get(_key(name, residual))
    if entry is None:
        from resnet_core.anatomy import network_anatomy

        return network_anatomy(name, residual=residual)
    return _build(NetworkAnatomy, entry["anatomy"])


def shipped_view(name: str, residual: bool = True, *,
                 path: str | Path = ARCHITECTURE_FILE) -> tuple[ModelSummary, NetworkAnatomy]:
    """The :func:`~resnet_core.summary.summarize` and :func:`~resnet_core.anatomy.network_anatomy` of a variant.

    Read from the shipped file; computed now if the file lacks the variant (or is missing).
    Raises ``KeyError`` (listing the names) for an unknown model.
    """
    from resnet_core.summary import ModelSummary, summarize  # torch: the Architecture page has it anyway

    entry = _shipped(Path(path)).get(_key(name, residual))
    summary = summarize(name, residual=residual) if entry is None else _build(ModelSummary, entry["summary"])
    return summary, shipped_anatomy(name, residual, path=path)


if __name__ == "__main__":
    print(f"wrote {write_architecture()}")
