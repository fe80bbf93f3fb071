"""A constructor argument that falls back to a setting, read when used: ``Runs(keep_s=60)`` or ``$RESNET_KEEP_S``."""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar, overload

__all__ = ["SettingDefault"]

T = TypeVar("T")


class SettingDefault(Generic[T]):
    """A read-only attribute: the value the constructor kept in ``_<name>``, or ``read()`` where that is None.

    ``read`` runs on every access, not once, so tests and deployments can change the environment
    under an object that already exists.
    """

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._given = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._given = f"_{name}"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> SettingDefault[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | SettingDefault[T]:
        if obj is None:
            return self
        given = getattr(obj, self._given)
        return given if given is not None else self._read()

    def __set__(self, obj: object, value: Any) -> None:
        # Read-only like a property: the constructor's argument is the one way to set it.
        raise AttributeError(f"{self._given[1:]} is read-only")
