"""Rebuilding config dataclasses from JSON, shared by every model and the trainer."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from musiclm.errors import UserError

T = TypeVar("T")


def dataclass_from_dict(cls: type[T], d: dict[str, Any], what: str) -> T:
    """``cls(**d)`` with a clear UserError naming ``what`` for unknown keys (a file written by
    a newer musiclm?) or bad values; missing keys take their defaults."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise UserError(
            f"unknown {what} keys {unknown}: unknown setting(s) (written by a newer musiclm?)"
        )
    if not isinstance(d, dict):
        raise UserError(f"invalid {what}: expected a JSON object, got {type(d).__name__}")
    hints = _hints(cls)
    for key, value in d.items():
        want = hints.get(key)
        if want is not None and not _fits(value, want):
            raise UserError(f"invalid {what}: {key} = {value!r} is not {_name(want)}")
    try:
        return cls(**d)
    except (TypeError, ValueError) as e:
        raise UserError(f"invalid {what}: {e}") from None


_SIMPLE = (bool, int, float, str)


def _hints(cls) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation we cannot resolve: check nothing
        return {}


def _fits(value: Any, want: Any) -> bool:
    """Whether a JSON value can be a field of type ``want``: simple types, their unions
    and containers are checked (an int may be a float, a bool is not a number); any other
    type (a nested config) is left to its own ``from_dict``."""
    origin = typing.get_origin(want)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in typing.get_args(want))
    if want is type(None):
        return value is None
    if want is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if want in _SIMPLE:
        return isinstance(value, want)
    if origin in (tuple, list):
        return isinstance(value, list | tuple)
    if origin is dict or want is dict:
        return isinstance(value, dict)
    return True


def _name(want: Any) -> str:
    return getattr(want, "__name__", None) or str(want).replace("typing.", "")
