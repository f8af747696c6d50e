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
- key: 12 tonics x {major, minor}; church modes map to the mode of their third
  (dorian and phrygian are minor, lydian and mixolydian major).
"""

from __future__ import annotations

import math
import re

TEMPO_MIN, TEMPO_MAX, TEMPO_BINS = 40.0, 250.0, 64
N_KEYS = 24
BEAT_PHASES = 8  # phase bins within a beat for beat-grid conditioning
PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}
_MINOR_MODES = {"minor", "aeolian", "dorian", "phrygian", "locrian"}
_MAJOR_MODES = {"major", "ionian", "lydian", "mixolydian"}

_TEMPO_RE = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*(?:-\s*)?(?:bpm|beats per minute)\b", re.I)
# the tonic is a capital letter, or any case after "in" ("a minor" may be an article)
_KEY_RE = re.compile(
    r"(?:\b[Ii]n\s+([A-Ga-g])|\b([A-G]))(#|♯|b|♭|-sharp|-flat| sharp| flat)?\s*"
    r"(?i:(major|minor|maj|min|dorian|phrygian|lydian|mixolydian|aeolian|ionian))\b"
)


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


def key_index(tonic: str, mode: str = "major") -> int:
    """``0 .. 23``: the pitch class of ``tonic`` (+12 for minor-like modes)."""
    t = tonic.strip()
    t = t[:1].upper() + t[1:].replace("♯", "#").replace("♭", "b")
    t = FLATS.get(t, t)
    if t not in PITCHES:
        raise ValueError(f"unknown tonic {tonic!r}")
    m = mode.strip().lower()
    m = {"maj": "major", "min": "minor"}.get(m, m)
    if m not in _MINOR_MODES | _MAJOR_MODES:
        raise ValueError(f"unknown mode {mode!r}")
    return PITCHES.index(t) + 12 * (m in _MINOR_MODES)


def key_name(index: int) -> str:
    """``0 .. 23`` -> 'C major' ... 'B minor'."""
    return f"{PITCHES[index % 12]} {'minor' if index >= 12 else 'major'}"


def parse_tempo(text: str) -> float | None:
    """The tempo a prompt states ("at 70 bpm", "174 BPM"), or None."""
    m = _TEMPO_RE.search(text)
    return float(m.group(1)) if m else None


def parse_key(text: str) -> int | None:
    """The key a prompt states ("in C major", "E minor", "F# dorian"), or None."""
    m = _KEY_RE.search(text)
    if not m:
        return None
    after_in, capital, accidental, mode = m.groups()
    letter = after_in or capital
    acc = (accidental or "").strip(" -").lower()
    acc = {"sharp": "#", "♯": "#", "flat": "b", "♭": "b"}.get(acc, acc)
    try:
        return key_index(letter.upper() + acc, mode)
    except ValueError:
        return None


def record_attributes(tempo: float | None, key: str | None, mode: str | None) -> tuple[int, int]:
    """A manifest record's ``(tempo bin, key index)``, -1 where unknown."""
    t = tempo_bin(tempo) if tempo else -1
    try:
        k = key_index(key, mode or "major") if key else -1
    except ValueError:
        k = -1
    return t, k
