"""Tempo and key as explicit conditioning tokens ("attributes").

Why: the bundled model followed the genre and instruments of a prompt but not its tempo
(0 of 6 prompts within 8 %, every piece at 104-117 bpm; docs/model.md): MuLan keeps
only a coarse tempo band and level 1 of its tokens carries little of it. The corpus
knows every clip's tempo and key, and a prompt that states them ("at 70 bpm",
"in E minor") can say so exactly, so the semantic and coarse stages may take them as
two more prefix tokens. Either may be unknown (``NULL``): training drops each
attribute at random so a prompt without a stated tempo still works.

- tempo: ``TEMPO_BINS`` log-spaced bins from ``TEMPO_MIN`` to ``TEMPO_MAX`` bpm (~3 %
  wide, well inside the 8 % tolerance of ``musiclm eval``);
- key: 12 tonics x {major, minor}; a mode maps to the quality of its third, and every
  mode the corpus engine writes has a key token (:mod:`musiclm.theory`).
"""

from __future__ import annotations

import math

from musiclm.theory import key_index

TEMPO_MIN, TEMPO_MAX, TEMPO_BINS = 40.0, 250.0, 64
BEAT_PHASES = 8  # phase bins within a beat for beat-grid conditioning


def tempo_bin(bpm: float) -> int:
    """Bin ``0 .. TEMPO_BINS-1`` of a tempo (clamped to the range)."""
    if not (isinstance(bpm, int | float) and math.isfinite(bpm) and bpm > 0):
        raise ValueError(f"tempo must be a positive number of bpm, got {bpm!r}")
    x = math.log(min(max(bpm, TEMPO_MIN), TEMPO_MAX) / TEMPO_MIN)
    return min(TEMPO_BINS - 1, int(x / math.log(TEMPO_MAX / TEMPO_MIN) * TEMPO_BINS))


def bin_tempo(index: int) -> float:
    """The centre (bpm) of a tempo bin."""
    step = math.log(TEMPO_MAX / TEMPO_MIN) / TEMPO_BINS
    return TEMPO_MIN * math.exp((index + 0.5) * step)


def record_attributes(tempo: float | None, key: str | None, mode: str | None) -> tuple[int, int]:
    """A manifest record's ``(tempo bin, key index)``, -1 where unknown."""
    t = tempo_bin(tempo) if tempo else -1
    try:
        k = key_index(key, mode or "major") if key else -1
    except ValueError:
        k = -1
    return t, k
