"""Rebuilding config dataclasses from JSON, shared by every model and the trainer."""

from __future__ import annotations

import dataclasses
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
    try:
        return cls(**d)
    except (TypeError, ValueError) as e:
        raise UserError(f"invalid {what}: {e}") from None
