"""Story mode (MusicLM §4): one piece whose text changes over time.

    model.generate(story=[(0, "whistling over a techno beat"), (30, "a calm piano outro")],
                   seconds=60)
    musiclm generate --story "0=whistling over a techno beat" --story "30=a calm piano outro"

Each part is a start (seconds, the first at 0) and a text. The pipeline conditions every
window on the part it lies in (its MuLan tokens, key and tempo; a window never spans two
parts), while the semantic and acoustic windows keep continuing the music made so far,
so a transition is the model changing course mid-phrase, not a cut. The tempo carries
over from part to part unless a part's text states another (a change of tempo at a
part's start would break the beat the music is on); the key is each part's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from musiclm.conditions import Conditions
from musiclm.errors import UserError


@dataclass(frozen=True)
class Part:
    """One part of a story: its start in seconds and its conditions (MuLan tokens made)."""

    start: float
    conditions: Conditions

    def to_dict(self) -> dict:
        return {"start": self.start, "text": self.conditions.text, **self.conditions.attributes()}


def parse_parts(items: Sequence[str]) -> list[tuple[float, str]]:
    """``["0=whistling over techno", "30=calm piano"]`` (the CLI's ``--story``) -> pairs."""
    out = []
    for i, item in enumerate(items, 1):
        start, sep, text = item.partition("=")
        try:
            at = float(start)
        except ValueError:
            at = None
        if not sep or at is None:
            raise UserError(
                f"story part {i} {item!r}: write START=TEXT, e.g. '30=a calm piano outro'"
            )
        out.append((at, text))
    return out


def check_parts(parts: Sequence[tuple[float, str]], seconds: float) -> list[tuple[float, str]]:
    """The parts of a ``seconds``-long story, checked: starts are numbers from 0, strictly
    increasing, before the end; texts are not empty. One line for the first fault."""
    parts = list(parts)
    if not parts:
        raise UserError("a story needs at least one part: (start seconds, text)")
    out: list[tuple[float, str]] = []
    for i, part in enumerate(parts, 1):
        try:
            start, text = part
            start = float(start)
        except (TypeError, ValueError):
            raise UserError(f"story part {i} must be (start seconds, text), got {part!r}") from None
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"story part {i} (at {start:g} s) has no text")
        if not start == start or start in (float("inf"), float("-inf")):
            raise UserError(f"story part {i}: its start must be a number of seconds, got {start!r}")
        if i == 1 and start != 0:
            raise UserError(f"a story starts at 0 s; its first part starts at {start:g} s")
        if out and start <= out[-1][0]:
            raise UserError(
                f"story part {i} starts at {start:g} s, not after part {i - 1} ({out[-1][0]:g} s); "
                "starts must increase"
            )
        if start >= seconds:
            raise UserError(
                f"story part {i} starts at {start:g} s, past the end of the {seconds:g} s piece"
            )
        out.append((start, text.strip()))
    return out


def carry_tempo(parts: Sequence[Part]) -> list[Part]:
    """Each part's tempo is its own if its text (or an explicit tempo) gave one, else the
    previous part's: the music stays on its beat across a change of text."""
    out: list[Part] = []
    for p in parts:
        c = p.conditions
        if c.tempo is None and out and out[-1].conditions.tempo is not None:
            c = dataclasses.replace(c, tempo=out[-1].conditions.tempo)
        out.append(Part(p.start, c))
    return out


__all__ = ["Part", "carry_tempo", "check_parts", "parse_parts"]
