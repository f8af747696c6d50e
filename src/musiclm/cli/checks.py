"""Range checks of numbers given on the command line, each failing as one UserError line.

Click only checks a number's type; these check that it means something (``--cfg nan``,
``--clips 0`` and ``--seed 2**70`` parse fine and fail minutes later otherwise).
"""

from __future__ import annotations

import math

from musiclm.errors import UserError

MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit integer


def number(
    name: str,
    value: float | None,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float | None:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``low_open``); None passes."""
    if value is None:
        return None
    ok = isinstance(value, int | float) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
        hi = "" if high is None else f"<= {high:g}"
        want = " and ".join(x for x in (lo, hi) if x) or "finite"
        raise UserError(f"{name} must be a finite number {want}, got {value}")
    return value


def count(name: str, value: int | None, *, low: int = 1, high: int | None = None) -> int | None:
    """An integer in ``[low, high]``; None passes."""
    if value is None:
        return None
    if value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"between {low} and {high}"
        raise UserError(f"{name} must be {span}, got {value}")
    return value


def seed(name: str, value: int | None, *, span: int = 1) -> int | None:
    """A seed in ``[0, 2**63)``; ``span`` seeds from ``value`` on must all fit."""
    if value is not None and not 0 <= value <= MAX_SEED - (span - 1):
        raise UserError(f"{name} must be between 0 and {MAX_SEED - (span - 1)}, got {value}")
    return value


def temperatures(name: str, value: str) -> tuple[float, float, float]:
    """Three sampling temperatures, ``"semantic,coarse,fine"`` (their range is checked by
    :class:`musiclm.pipeline.GenerationOptions`)."""
    try:
        temps = tuple(float(x) for x in value.split(","))
    except ValueError:
        temps = ()
    if len(temps) != 3 or not all(math.isfinite(t) for t in temps):
        raise UserError(f"{name} needs three numbers >= 0 (semantic,coarse,fine), got {value!r}")
    return temps
