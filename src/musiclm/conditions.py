"""What a piece is conditioned on: one typed :class:`Conditions` per prompt, made once.

    conds = model.conditions(["lofi at 85 bpm in A minor"], key="C major")
    model.run(conds, seconds=10, seed=0)   # the stages read what they need from it

:func:`parse` is the one prompt parser: the tempo and key a text states ("at 70 bpm",
"in E minor", :mod:`musiclm.theory`), or those given explicitly, which win. The
pipeline adds the text's MuLan tokens (:meth:`musiclm.pipeline.MusicLM.conditions`);
each stage then builds its own inputs from the same object
(:mod:`musiclm.stages.inputs`), and the sidecar of a generated piece is written from it
(:meth:`Conditions.attributes`).

This module sits below ``stages``: it holds values (bpm, a key index), not stage ids;
a stage maps them to its vocabulary (a tempo *bin*, say).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import torch

from musiclm.errors import UserError
from musiclm.theory import SECTIONS, key_index, key_name, parse_key

MIN_TEMPO, MAX_TEMPO = 20.0, 400.0  # explicit tempos outside are mistakes, not music
_TEMPO_RE = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*(?:-\s*)?(?:bpm|beats per minute)\b", re.I)


MELODY_RATE = 25  # melody frames per second (the semantic rate)
MELODY_NONE, MELODY_REST, MELODY_PC0 = 0, 1, 2
MELODY_IDS = MELODY_PC0 + 12
FORM_RATE = 25  # section ids per second (section_ids)


@dataclass(frozen=True)
class Section:
    """One section of a piece's form plan, in seconds from the start."""

    name: str  # musiclm.theory.SECTIONS (intro, verse, chorus, ...)
    start: float
    end: float

    def to_dict(self) -> dict:
        return {"name": self.name, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass(frozen=True, eq=False)  # eq=False: tensors have no truth value; same object = same
class Conditions:
    """The conditions of one prompt.

    Later conditions (a form and timing plan, melody tokens, continuation prompt
    tokens) are new fields here, read by :func:`parse` and used by the stage-input
    builders that take them; see docs/stages.md.
    """

    text: str
    tempo: float | None = None  # bpm; None: the model decides
    key: int | None = None  # key token 0..23 (musiclm.theory.key_index); None: the model decides
    mulan: torch.Tensor | None = None  # (L,) int64 MuLan RVQ tokens of the text
    # per-frame melody of the whole piece at MELODY_RATE: MELODY_NONE (no condition),
    # MELODY_REST (a rest: no tune), MELODY_PC0 + pitch class (C = 0); None: no melody
    melody: torch.Tensor | None = None
    # the planned form: sections in time order covering the piece; None: no plan
    form: tuple[Section, ...] | None = None
    tune: bool = False  # the melody is a planned tune (musiclm.tune), not the user's

    def with_mulan(self, tokens: torch.Tensor) -> Conditions:
        return dataclasses.replace(self, mulan=tokens)

    @property
    def given_melody(self) -> bool:
        """A melody the user gave (``--melody``), not a planned or carried tune."""
        return self.melody is not None and not self.tune

    def attributes(self) -> dict:
        """``{"tempo": bpm or None, "key": 'E minor' or None}``, as the sidecar writes it."""
        return {"tempo": self.tempo, "key": None if self.key is None else key_name(self.key)}


def section_ids(form, seconds: float | None = None) -> torch.Tensor:
    """A form plan (sections with ``name``, ``start``, ``end`` in seconds: the pipeline's
    ``Section`` or a manifest's) -> section ids ``(frames,)`` at ``FORM_RATE``: 1 + index
    in SECTIONS inside a section (the engine's "ending" is "tail"), "tail" after the last
    one up to ``seconds`` (default:
    the last section's end), 0 before the first and for unknown names."""
    end = max((float(x.end) for x in form), default=0.0)
    ids = torch.zeros(round(max(end, seconds or 0.0) * FORM_RATE), dtype=torch.long)
    for x in form:
        name = "tail" if x.name == "ending" else x.name  # the engine's manifests: "ending"
        if name in SECTIONS:
            a, b = round(x.start * FORM_RATE), round(x.end * FORM_RATE)
            ids[a:b] = 1 + SECTIONS.index(name)
    ids[round(end * FORM_RATE) :] = 1 + SECTIONS.index("tail")
    return ids


def parse_tempo(text: str) -> float | None:
    """The tempo a prompt states ("at 70 bpm", "174 BPM"), or None."""
    m = _TEMPO_RE.search(text)
    return float(m.group(1)) if m else None


def check_tempo(tempo: float | None) -> float | None:
    """An explicit tempo, refused outside ``MIN_TEMPO .. MAX_TEMPO`` bpm."""
    if tempo is not None and not (
        isinstance(tempo, int | float) and MIN_TEMPO <= tempo <= MAX_TEMPO
    ):
        raise UserError(f"tempo must be {MIN_TEMPO:g}-{MAX_TEMPO:g} bpm, got {tempo!r}")
    return tempo


def check_key(key: str | None) -> int | None:
    """An explicit key ('F# minor', 'Eb dorian', 'C') -> its key index."""
    if key is None:
        return None
    parts = key.split()
    try:
        return key_index(parts[0], " ".join(parts[1:]) or "major")
    except (ValueError, IndexError):
        raise UserError(f"unknown key {key!r}; write e.g. 'C major' or 'F# minor'") from None


def parse(
    text: str, tempo: float | None = None, key: str | None = None, *, attributes: bool = True
) -> Conditions:
    """The one prompt parser: ``text``'s conditions, ``tempo`` (bpm) and ``key`` overriding
    what it states. ``attributes=False`` (a model without tempo and key tokens): both stay
    None, and explicit values are refused."""
    if not attributes:
        if tempo is not None or key is not None:
            raise UserError("this model has no tempo or key conditioning")
        return Conditions(text)
    t = check_tempo(tempo)
    k = check_key(key)
    if t is None:
        t = parse_tempo(text)
        if t is not None and not MIN_TEMPO <= t <= MAX_TEMPO:  # "1000 bpm" is no tempo
            t = None
    return Conditions(text, tempo=t, key=k if key is not None else parse_key(text))


__all__ = ["Conditions", "Section", "parse", "parse_tempo", "section_ids"]
