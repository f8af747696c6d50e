"""Melodies for the synthetic corpus: the :class:`Melody` type and the bundled corpus of real tunes.

The corpus is extracted once, offline, from music21's corpus by
:mod:`musiclm.data.synth.melody_cache` (folk tunes from the Essen, Ryan, O'Neill, Aird and
misc-folk ABC collections plus the soprano line of the Bach chorales) and shipped as
``musiclm/assets/melodies.json.gz``; :func:`load_corpus_melodies` reads it back in
milliseconds. New tunes for any mode and meter come from :mod:`musiclm.data.synth.procedural`.

All times are in quarter-note beats; onset 0 is the start of a bar (pickups sit at the end of
a leading bar), so bar lines fall at multiples of :attr:`Melody.bar_beats`.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musiclm.errors import UserError
from musiclm.theory import MODES

CACHE_PATH = Path(__file__).resolve().parents[2] / "assets" / "melodies.json.gz"
CACHE_FORMAT = "musiclm.melodies"
CACHE_VERSION = 1
TICKS = 24  # ticks per quarter note: a 32nd is 3, a triplet 16th 4, so both stay exact

METER_FAMILIES = {
    "duple": ("2/4", "4/4", "2/2", "4/2"),
    "triple": ("3/4", "3/8", "3/2"),
    "compound": ("6/8", "9/8", "12/8", "6/4"),
}

# (collection folder in music21's corpus, most melodies kept). The caps keep any one
# collection well under 40% of the ~1.8k total and bound the build to a few minutes.
COLLECTIONS = (
    ("essenFolksong", 450),
    ("ryansMammoth", 350),
    ("oneills1850", 350),
    ("airdsAirs", 250),
    ("miscFolk", 120),
    ("bach", 330),
)

Note = tuple[float, float, int]  # (onset beats, duration beats, MIDI pitch)


def meter_beats(meter: str) -> float:
    """Quarter notes per bar of a ``"num/den"`` meter: 6/8 -> 3.0, 7/8 -> 3.5."""
    num, den = _parse_meter(meter)
    return num * 4 / den


def _parse_meter(meter: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", meter)
    if not m or int(m[1]) < 1 or int(m[2]) not in (1, 2, 4, 8, 16, 32):
        raise UserError(f"unsupported meter {meter!r}; expected e.g. '4/4', '6/8', '7/8'")
    return int(m[1]), int(m[2])


@dataclass(frozen=True)
class Melody:
    """A monophonic tune with its meter and key."""

    source: str  # "music21:essenFolksong/han1.abc#12", or "procedural"
    title: str
    meter: str  # "4/4", "3/4", "6/8", ...
    tonic_pc: int  # 0-11
    mode: str  # a key of theory.MODES
    notes: tuple[Note, ...]  # sorted by onset, non-overlapping

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}")
        notes = tuple((float(o), float(d), int(p)) for o, d, p in self.notes)
        object.__setattr__(self, "notes", tuple(sorted(notes, key=lambda n: n[0])))
        object.__setattr__(self, "tonic_pc", int(self.tonic_pc) % 12)

    @property
    def collection(self) -> str:
        """The corpus collection ("bach", "essenFolksong", ...) or "procedural"."""
        return self.source.split(":", 1)[-1].split("/", 1)[0]

    @property
    def bar_beats(self) -> float:
        return meter_beats(self.meter)

    @property
    def length_beats(self) -> float:
        """End of the last note, rounded up to a whole bar."""
        if not self.notes:
            return 0.0
        end = max(o + d for o, d, _ in self.notes)
        return math.ceil(end / self.bar_beats - 1e-6) * self.bar_beats

    @property
    def bars(self) -> int:
        return round(self.length_beats / self.bar_beats)

    @property
    def lowest(self) -> int:
        return min(p for _, _, p in self.notes)

    @property
    def highest(self) -> int:
        return max(p for _, _, p in self.notes)

    def transposed(self, semitones: int) -> Melody:
        notes = tuple((o, d, p + semitones) for o, d, p in self.notes)
        return Melody(
            self.source, self.title, self.meter, self.tonic_pc + semitones, self.mode, notes
        )

    def to_range(self, low: int, high: int) -> Melody:
        """Transpose by octaves to fit ``[low, high]``, centred (least overflow if too wide)."""
        center = (low + high) / 2
        mid = (self.lowest + self.highest) / 2

        def cost(k: int) -> tuple[float, float]:
            lo, hi = self.lowest + 12 * k, self.highest + 12 * k
            return max(0, low - lo) + max(0, hi - high), abs(mid + 12 * k - center)

        k0 = round((center - mid) / 12)
        best = min(range(k0 - 2, k0 + 3), key=cost)
        return self.transposed(12 * best) if best else self

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "title": self.title,
            "meter": self.meter,
            "tonic_pc": self.tonic_pc,
            "mode": self.mode,
            "notes": [list(n) for n in self.notes],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Melody:
        return cls(d["source"], d["title"], d["meter"], d["tonic_pc"], d["mode"], d["notes"])


# ---------------------------------------------------------------------------------------
# The corpus cache: compact encoding, build, load.


def _encode(m: Melody) -> dict:
    """Integer ticks, onsets as deltas: ~3 small ints per note, which gzip packs well."""
    on = [round(o * TICKS) for o, _, _ in m.notes]
    return {
        "source": m.source,
        "title": m.title,
        "meter": m.meter,
        "tonic": m.tonic_pc,
        "mode": m.mode,
        "on": [b - a for a, b in zip([0, *on[:-1]], on, strict=True)],
        "dur": [round(d * TICKS) for _, d, _ in m.notes],
        "pitch": [p for _, _, p in m.notes],
    }


def _decode(d: dict) -> Melody:
    onsets = np.cumsum(d["on"]) / TICKS
    notes = tuple(
        (float(o), t / TICKS, p) for o, t, p in zip(onsets, d["dur"], d["pitch"], strict=True)
    )
    return Melody(d["source"], d["title"], d["meter"], d["tonic"], d["mode"], notes)


@functools.lru_cache(maxsize=4)
def _load(path: str) -> tuple[Melody, ...]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            payload = json.load(f)
        if payload.get("format") != CACHE_FORMAT or payload.get("version") != CACHE_VERSION:
            raise ValueError("not a musiclm melody cache of this version")
        return tuple(_decode(d) for d in payload["melodies"])
    except FileNotFoundError:
        raise UserError(
            f"melody cache {path} is missing; rebuild it with "
            "`musiclm data melodies` (or `make melodies`)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, EOFError) as e:
        raise UserError(f"melody cache {path} is corrupt ({e}); rebuild it") from None


def load_corpus_melodies(path: str | os.PathLike | None = None) -> tuple[Melody, ...]:
    """All melodies of the cache at ``path`` (default: the bundled one), loaded once."""
    return _load(str(Path(path) if path is not None else CACHE_PATH))


def corpus_stats(path: str | os.PathLike | None = None) -> dict[str, int]:
    """Number of cached melodies per collection, plus ``"total"``."""
    counts: dict[str, int] = {}
    for m in load_corpus_melodies(path):
        counts[m.collection] = counts.get(m.collection, 0) + 1
    return {**dict(sorted(counts.items())), "total": sum(counts.values())}


def meter_family(meter: str) -> str | None:
    """ "duple", "triple", "compound", or None (e.g. 5/4, 7/8)."""
    return next((f for f, ms in METER_FAMILIES.items() if meter in ms), None)


def pick_melody(
    rng: np.random.Generator,
    *,
    meter_family: str | None = None,
    prefer: str | tuple[str, ...] | None = None,
) -> Melody:
    """Draw one corpus melody, deterministically given ``rng``.

    Args:
        meter_family: "duple" (2/4 4/4 2/2 4/2), "triple" (3/4 3/8 3/2) or "compound"
            (6/8 9/8 12/8 6/4); None for any meter.
        prefer: a collection ("bach", "essenFolksong", ...) or a mode ("major", "minor", ...)
            to draw from, or a tuple of them; None for all.
    """
    if meter_family is not None and meter_family not in METER_FAMILIES:
        raise UserError(f"unknown meter family {meter_family!r}; one of {list(METER_FAMILIES)}")
    pool = load_corpus_melodies()
    if meter_family is not None:
        pool = tuple(m for m in pool if m.meter in METER_FAMILIES[meter_family])
    if prefer is not None:
        wanted = {prefer} if isinstance(prefer, str) else set(prefer)
        pool = tuple(m for m in pool if wanted & {m.collection, m.mode})
    if not pool:
        raise UserError(f"no corpus melody with meter_family={meter_family!r} prefer={prefer!r}")
    return pool[int(rng.integers(len(pool)))]
