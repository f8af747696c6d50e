"""Config dataclasses: the JSON round trip, the canonical hash and named presets, once.

Every model config (codec, MuLan, semantic tokenizer, stages, Transformer) and the
trainer's is a ``@dataclass`` that mixes in :class:`Config`::

    @dataclass
    class CodecConfig(Config):
        NAME: ClassVar[str] = "codec"     # in messages: "unknown codec preset ..."
        ...

    PRESETS = {"debug": {...}, "tiny": {...}}
    CodecConfig.PRESETS = PRESETS         # the names CodecConfig.preset() knows
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from musiclm.errors import UserError

T = TypeVar("T")
C = TypeVar("C", bound="Config")


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a config dict (sorted keys, no spaces, ASCII): key
    order and tuple-vs-list do not matter. The checkpoint's ``config_hash``."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class Config:
    """Mixin of config dataclasses: :meth:`to_dict` / :meth:`from_dict` (nested configs
    included), :meth:`hash` and :meth:`preset`."""

    NAME: ClassVar[str] = "model"  # what messages call it: "<NAME> config", "<NAME> preset"
    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: nested configs as dicts, tuples as lists."""
        return _jsonable(dataclasses.asdict(self))  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        """Rebuild from :meth:`to_dict` output; UserError for unknown keys or bad values,
        missing keys take their defaults."""
        if isinstance(d, dict):
            hints = _hints(cls)
            d = dict(d)
            for key, value in d.items():
                sub = hints.get(key)
                if isinstance(sub, type) and issubclass(sub, Config) and isinstance(value, dict):
                    d[key] = sub.from_dict(value)
        return dataclass_from_dict(cls, d, f"{cls.NAME} config")

    def hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (:func:`config_hash`): the
        same digest ``musiclm.training.checkpoint`` writes as ``config_hash``."""
        return config_hash(self.to_dict())

    @classmethod
    def preset(cls: type[C], name: str) -> C:
        """A named configuration (``PRESETS``), e.g. ``debug``, ``tiny``, ``base``."""
        if name not in cls.PRESETS:
            raise UserError(
                f"unknown {cls.NAME} preset {name!r}; choose from {sorted(cls.PRESETS)}"
            )
        return cls(**cls.PRESETS[name])


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
