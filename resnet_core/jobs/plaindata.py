"""Frozen dataclasses to JSON-ready plain data and back, driven by their type hints (no pickle).

The archive of finished runs (:mod:`resnet_core.jobs.archive`) writes snapshots as JSON. Reading one
back builds only the types the target dataclass names in its hints, field by field, and checks
every value against its hint (``Literal`` members included): a record edited by hand can fail to
load, never make an object of a type nobody asked for. Fields a record lacks take their defaults,
so a record written before a field was added still loads.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = ["from_plain", "to_plain"]

Plain = Union[None, bool, int, float, str, list["Plain"], dict[str, "Plain"]]


def to_plain(value: Any, *, exclude: tuple[str, ...] = ()) -> Plain:
    """``value`` (dataclasses, tuples, numbers, strings, None) as lists, dicts and scalars.

    ``exclude``: field names of the top-level dataclass to leave out (the trained networks).
    Floats stay floats, NaN included (Python's ``json`` writes and reads it).
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in exclude}
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    raise TypeError(f"{type(value).__name__} has no plain-data form")


def from_plain(cls: type, data: Any, **given: Any) -> Any:
    """The ``cls`` dataclass that :func:`to_plain` turned into ``data``; ValueError if it does not fit.

    ``given``: field values to use as they are instead of reading them from ``data`` (the
    networks, loaded from their own file).
    """
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in given:
            values[f.name] = given[f.name]
        elif f.name in data:
            values[f.name] = _convert(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{cls.__name__}: the record has no {f.name!r}")
    try:
        return cls(**values)
    except (TypeError, KeyError) as exc:  # __post_init__ checks (ValueError) pass through
        raise ValueError(f"{cls.__name__}: {exc}") from exc


def _convert(tp: Any, data: Any, where: str) -> Any:
    """``data`` as a value of type ``tp``."""
    origin = get_origin(tp)
    if tp is Any:
        return data
    if tp is type(None):
        if data is not None:
            raise ValueError(f"{where}: expected null")
        return None
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _convert(option, data, where)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors) or f"{where}: no type fits")
    if origin is Literal:
        if not any(type(data) is type(a) and data == a for a in get_args(tp)):
            raise ValueError(f"{where}: {data!r} is not one of {get_args(tp)}")
        return data
    if origin is tuple:
        if not isinstance(data, list):
            raise ValueError(f"{where}: expected a list")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], d, f"{where}[{i}]") for i, d in enumerate(data))
        if len(args) != len(data):
            raise ValueError(f"{where}: expected {len(args)} items, got {len(data)}")
        return tuple(_convert(a, d, f"{where}[{i}]") for i, (a, d) in enumerate(zip(args, data)))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_plain(tp, data)
    if tp is bool:
        if not isinstance(data, bool):
            raise ValueError(f"{where}: expected true or false")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError(f"{where}: expected a whole number")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise ValueError(f"{where}: expected a number")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise ValueError(f"{where}: expected a string")
        return data
    raise ValueError(f"{where}: {tp!r} cannot be read from plain data")
