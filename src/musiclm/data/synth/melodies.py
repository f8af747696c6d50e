"""Melodies for the synthetic corpus: real tunes from music21's corpus, and a procedural writer.

The corpus half is built once, offline, by :func:`build_melody_cache` (folk tunes from the
Essen, Ryan, O'Neill, Aird and misc-folk ABC collections plus the soprano line of the Bach
chorales) and shipped as ``musiclm/assets/melodies.json.gz``; :func:`load_corpus_melodies`
reads it back in milliseconds. :func:`procedural_melody` writes new tunes for any mode and
meter from motifs, periods and cadences, so the engine never depends on the corpus alone.

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

from musiclm.data.synth.theory import MODES, chord_pcs, scale_pitches
from musiclm.errors import UserError
from musiclm.io import atomic_path

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


def _corpus_jobs() -> list[tuple[str, list[tuple[str, int | None]]]]:
    """Per collection, its tunes as ``(corpus path, ABC reference number or None)``."""
    from music21 import corpus

    root = Path(corpus.__file__).parent
    jobs = []
    for name, _ in COLLECTIONS:
        items: list[tuple[str, int | None]] = []
        for path in sorted(p for p in (root / name).iterdir() if p.suffix in (".abc", ".mxl")):
            rel = f"{name}/{path.name}"
            if name == "bach" and not re.fullmatch(r"bwv[\d.]+\.mxl", path.name):
                continue
            numbers = []
            if path.suffix == ".abc":
                text = path.read_text(encoding="latin-1")
                numbers = [int(x) for x in re.findall(r"^X:\s*(\d+)", text, flags=re.M)]
            if len(numbers) > 1:
                items.extend((rel, n) for n in dict.fromkeys(numbers))
            else:
                items.append((rel, None))
        jobs.append((name, items))
    return jobs


def _parse_job(job: tuple[str, int | None]) -> tuple[str, dict | None, str]:
    """Parse one tune; ``(source, encoded melody or None, reason it was dropped)``."""
    from music21 import corpus

    rel, number = job
    source = f"music21:{rel}" + (f"#{number}" if number is not None else "")
    try:
        score = corpus.parse(rel, number=number, forceSource=True)
        melody, reason = _melody_from_score(score, source)
    except Exception as e:  # music21 raises many kinds on odd files; count and move on
        return source, None, f"parse error ({type(e).__name__})"
    return source, (_encode(melody) if melody else None), reason


def _melody_from_score(score, source: str) -> tuple[Melody | None, str]:
    """The top line of a music21 score as a :class:`Melody`, or ``(None, why not)``."""
    from music21 import meter, stream

    parts = list(score.parts) or [score]
    named = [p for p in parts if (p.partName or "").lower().startswith("soprano")]
    part = named[0] if named else parts[0]

    sigs = {ts.ratioString for ts in part.recurse().getElementsByClass(meter.TimeSignature)}
    if len(sigs) != 1:
        return None, "no single meter"
    ts = next(iter(part.recurse().getElementsByClass(meter.TimeSignature)))
    bar = float(ts.barDuration.quarterLength)
    measures = list(part.getElementsByClass(stream.Measure))
    if len(measures) < 2:
        return None, "no measures"
    starts = _measure_starts([float(m.duration.quarterLength) for m in measures], bar)
    if starts is None:
        return None, "overfull bar"

    # ABC accidentals last to the end of the bar, but music21 applies each to one note only.
    carry_accidentals = source.split("#")[0].endswith(".abc")
    raw = []
    for m, start in zip(measures, starts, strict=True):
        carried: dict[tuple, float] = {}
        for n in sorted(m.recurse().notes, key=lambda n: n.getOffsetInHierarchy(m)):
            if n.duration.isGrace or n.quarterLength <= 0:
                continue
            midis = []
            for p in n.pitches:
                where, alter = (p.step, p.octave), p.alter
                if p.accidental is not None and p.accidental.displayStatus:
                    carried[where] = alter
                elif carry_accidentals and where in carried:
                    alter = carried[where]
                midis.append(round(p.ps - p.alter + alter))
            onset = start + float(n.getOffsetInHierarchy(m))
            tie = n.tie.type if n.tie is not None else None
            raw.append((onset, float(n.quarterLength), max(midis), tie))
    raw.sort(key=lambda r: (r[0], -r[2]))
    notes: list[list] = []
    for onset, dur, pitch, tie in raw:
        if notes:
            po, pd, pp = notes[-1]
            if tie in ("stop", "continue") and pp == pitch and abs(po + pd - onset) < 1e-6:
                notes[-1][1] = pd + dur  # a tied continuation: one longer note
                continue
            if onset - po < 1e-6:
                continue  # a second voice on the same onset: keep the top note
            notes[-1][1] = min(pd, onset - po)
        notes.append([onset, dur, pitch])

    ticks = []
    for onset, dur, pitch in notes:
        o, d = onset * TICKS, dur * TICKS
        if abs(o - round(o)) > 0.02 or abs(d - round(d)) > 0.02:
            return None, "off the 1/24-beat grid"
        if round(d) < TICKS // 8:
            return None, "notes shorter than a 32nd"
        ticks.append((round(o) / TICKS, round(d) / TICKS, pitch))
    if len(ticks) < 12:
        return None, "fewer than 12 notes"
    if max(p for *_, p in ticks) - min(p for *_, p in ticks) > 24:
        return None, "range over two octaves"

    tonic, mode = _key_of(score, part, ticks)
    if mode is None:
        return None, "no usable key"
    title = (score.metadata.title if score.metadata else None) or source.rsplit("/", 1)[-1]
    melody = Melody(source, str(title).strip(), ts.ratioString, tonic, mode, tuple(ticks))
    if not 4 <= melody.bars <= 48:
        return None, "not 4-48 bars"
    return melody, ""


def _measure_starts(lengths: list[float], bar: float) -> list[float] | None:
    """Where each written measure starts so that every full measure starts on a bar line.

    A short measure on a bar line before a full one is a pickup (right-aligned in its bar,
    as the first measure of a tune with an anacrusis); other short measures (a section's
    last bar, a pickup completing it) follow on; a full measure that would start off the
    grid waits for the next bar line (a rest). None if a measure is longer than a bar.
    """
    eps = 1e-6
    starts, cursor = [], 0.0
    for k, length in enumerate(lengths):
        if length > bar + eps:
            return None
        full = length >= bar - eps
        on_line = abs(cursor / bar - round(cursor / bar)) < eps
        if full and not on_line:
            cursor = math.ceil(cursor / bar) * bar
        prev_full = k > 0 and lengths[k - 1] >= bar - eps
        next_full = k + 1 < len(lengths) and lengths[k + 1] >= bar - eps
        if not full and on_line and next_full and (k == 0 or prev_full):
            starts.append(cursor + bar - length)
            cursor += bar
        else:
            starts.append(cursor)
            cursor += length
    return starts


def _key_of(score, part, notes: list[Note]) -> tuple[int, str | None]:
    """Tonic pitch class and mode: the signature, checked against the final and the notes."""
    from music21 import key

    names = {"ionian": "major", "aeolian": "minor"}
    sigs = list(part.recurse().getElementsByClass(key.KeySignature))
    if not sigs:
        k = score.analyze("key")
    elif isinstance(sigs[0], key.Key):
        k = sigs[0]
    else:
        k = sigs[0].asKey("major")
    tonic, mode = k.tonic.pitchClass, names.get(k.mode, k.mode)
    # A bare signature cannot tell G major from E minor: folk tunes end on the tonic, and a
    # chorale's bass ends on the root, so let the final note pick between the relatives.
    lowest = list(score.parts)[-1] if len(score.parts) > 1 else part
    finals = list(lowest.recurse().notes)
    if finals and mode in ("major", "minor"):
        final = min(p.pitchClass for p in finals[-1].pitches)
        if final != tonic and k.relative.tonic.pitchClass == final:
            tonic, mode = final, k.relative.mode

    # Essen tunes write "K: G" for the tonic and spell every flat out, so a G minor song
    # reads as G major: keep the tonic, and let the notes (weighted by duration) choose
    # the mode when they clearly contradict the declared one.
    def misfit(m: str) -> float:
        scale = {(tonic + s) % 12 for s in MODES[m]}
        return sum(d for _, d, p in notes if p % 12 not in scale)

    if mode in MODES and len(score.parts) <= 1:  # chorales: trust the signature
        best = min(("major", "minor", "dorian", "mixolydian"), key=misfit)
        if misfit(best) < 0.5 * misfit(mode) and misfit(mode) - misfit(best) >= 2.0:
            mode = best
    if mode not in MODES:
        return 0, None
    return tonic, mode


def _extract_melodies(
    jobs: list[tuple[str, int | None]], *, cap: int | None = None, progress: bool = False
) -> tuple[list[Melody], dict[str, int]]:
    """Parse ``jobs`` in order (in worker processes) until ``cap`` melodies are kept.

    Returns the melodies (in job order) and a count of dropped tunes per reason.
    """
    import multiprocessing

    import music21.corpus  # noqa: F401 - imported once here, inherited by the forked workers
    from tqdm import tqdm

    kept: list[Melody] = []
    dropped: dict[str, int] = {}
    workers = min(os.cpu_count() or 1, 8)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        bar = tqdm(total=cap or len(jobs), disable=not progress, unit="tune", leave=False)
        for _, encoded, reason in pool.imap(_parse_job, jobs, chunksize=4):
            if encoded is None:
                dropped[reason] = dropped.get(reason, 0) + 1
            else:
                kept.append(_decode(encoded))
                bar.update(1)
            if cap is not None and len(kept) >= cap:
                break
        bar.close()
        pool.terminate()
    return kept, dropped


def build_melody_cache(out_path: str | os.PathLike, *, progress: bool = True) -> int:
    """Parse music21's folk and chorale collections into a gzip'd JSON melody cache.

    Tunes are visited in a fixed shuffled order per collection (so a cap samples every file
    of a collection, not only the first) and the output is sorted by source: the same
    music21 version gives a byte-identical file. Returns the number of melodies written.
    """
    seen: set[tuple] = set()
    melodies: list[Melody] = []
    for i, (name, items) in enumerate(_corpus_jobs()):
        cap = dict(COLLECTIONS)[name]
        order = np.random.default_rng(1000 + i).permutation(len(items))
        jobs = [items[j] for j in order]
        if progress:
            print(f"{name}: {len(jobs)} tunes, keeping up to {cap}", flush=True)
        # Parse a little past the cap: some of what is kept may be duplicates.
        found, dropped = _extract_melodies(jobs, cap=cap + 20, progress=progress)
        kept = 0
        for m in found:
            first = m.notes[0][2]
            sig = (m.meter, tuple((o, d, p - first) for o, d, p in m.notes))
            if sig in seen or kept >= cap:
                continue
            seen.add(sig)
            melodies.append(m)
            kept += 1
        if progress:
            print(f"  kept {kept}; dropped {sum(dropped.values())}: {dropped}", flush=True)
    melodies.sort(key=lambda m: _source_key(m.source))
    payload = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "ticks_per_beat": TICKS,
        "melodies": [_encode(m) for m in melodies],
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with atomic_path(out_path) as tmp, open(tmp, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(data)
        os.chmod(tmp, 0o644)  # package data: readable by all (mkstemp makes it 0600)
    return len(melodies)


def _source_key(source: str) -> tuple[str, int]:
    """Sort "x.abc#9" before "x.abc#10"."""
    base, _, num = source.partition("#")
    return base, int(num) if num.isdigit() else -1


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
            "musiclm.data.synth.melodies.build_melody_cache(path)"
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
    rng: np.random.Generator, *, meter_family: str | None = None, prefer: str | None = None
) -> Melody:
    """Draw one corpus melody, deterministically given ``rng``.

    Args:
        meter_family: "duple" (2/4 4/4 2/2 4/2), "triple" (3/4 3/8 3/2) or "compound"
            (6/8 9/8 12/8 6/4); None for any meter.
        prefer: a collection ("bach", "essenFolksong", ...) or a mode ("major", "minor", ...)
            to draw from; None for all.
    """
    if meter_family is not None and meter_family not in METER_FAMILIES:
        raise UserError(f"unknown meter family {meter_family!r}; one of {list(METER_FAMILIES)}")
    pool = load_corpus_melodies()
    if meter_family is not None:
        pool = tuple(m for m in pool if m.meter in METER_FAMILIES[meter_family])
    if prefer is not None:
        pool = tuple(m for m in pool if prefer in (m.collection, m.mode))
    if not pool:
        raise UserError(f"no corpus melody with meter_family={meter_family!r} prefer={prefer!r}")
    return pool[int(rng.integers(len(pool)))]


# ---------------------------------------------------------------------------------------
# The procedural writer.

# Rhythm cells per beat-group length (quarter notes). Sixteenths are the shortest value.
_CELLS: dict[float, tuple[tuple[float, ...], ...]] = {
    0.5: ((0.5,), (0.25, 0.25)),
    0.75: ((0.75,), (0.5, 0.25), (0.25, 0.25, 0.25)),
    1.0: ((1.0,), (0.5, 0.5), (0.75, 0.25), (0.5, 0.25, 0.25), (0.25, 0.25, 0.5), (0.25,) * 4),
    1.5: ((1.5,), (1.0, 0.5), (0.5,) * 3, (0.5, 0.5, 0.25, 0.25), (0.75, 0.25, 0.5)),
    2.0: ((2.0,), (1.0, 1.0), (1.5, 0.5), (1.0, 0.5, 0.5), (0.5,) * 4),
}


def _beat_groups(meter: str) -> list[float]:
    """The beats of a bar in quarter notes: 4/4 -> 1,1,1,1; 6/8 -> 1.5,1.5; 7/8 -> 1,1,1.5."""
    num, den = _parse_meter(meter)
    unit = 4 / den
    if den >= 8 and num % 3 == 0:
        return [3 * unit] * (num // 3)
    if den >= 8:  # irregular: pairs of eighths, the odd one out makes the last a triple
        return [2 * unit] * (num // 2 - num % 2) + [3 * unit] * (num % 2)
    return [unit] * num


def _bar_rhythm(rng: np.random.Generator, groups: list[float], rate: float) -> list[float]:
    """Durations filling ``groups``, about ``rate`` notes per quarter note."""
    out: list[float] = []
    i = 0
    while i < len(groups):
        g = groups[i]
        options = [(c, 1.0) for c in _CELLS.get(g, ((g,),))]
        if i % 2 == 0 and i + 1 < len(groups):  # a long note across two beats (no syncopation)
            options.append(((g + groups[i + 1],), 0.8))
        # Prefer cells whose note rate is near ``rate`` (log distance: halves and doubles
        # are equally far).
        w = np.array(
            [p * math.exp(-3.0 * abs(math.log(len(c) / sum(c) / rate))) for c, p in options]
        )
        cell = options[int(rng.choice(len(options), p=w / w.sum()))][0]
        out.extend(cell)
        i += 2 if len(cell) == 1 and cell[0] > g else 1
    return out


def _vary_rhythm(rng: np.random.Generator, durs: list[float], rel: list[int], density: float):
    """Split one note in two (busier) or merge two into one (calmer); pitch offsets follow."""
    durs, rel = list(durs), list(rel)
    splittable = [i for i, d in enumerate(durs) if d >= 0.5]
    mergeable = [i for i in range(1, len(durs) - 1) if durs[i] + durs[i + 1] <= 1.0]
    if splittable and (rng.random() < 0.3 + 0.5 * density or not mergeable):
        i = int(rng.choice(splittable))
        half = durs[i] / 2 if durs[i] != 1.5 else 1.0
        nxt = rel[i + 1] if i + 1 < len(rel) else rel[i]
        step = 1 if nxt > rel[i] else -1
        durs[i : i + 1] = [half, durs[i] - half]
        rel[i : i + 1] = [rel[i], rel[i] + step]  # a passing or neighbour tone
    elif mergeable:
        i = int(rng.choice(mergeable))
        durs[i : i + 2] = [durs[i] + durs[i + 1]]
        del rel[i + 1]
    return durs, rel


def _walk(rng: np.random.Generator, start: int, count: int, last: int = 0) -> list[int]:
    """A stepwise random walk of ``count`` scale indices; a leap is resolved by a step back."""
    deltas = np.arange(-4, 5)
    weights = np.array([0.02, 0.04, 0.12, 0.3, 0.04, 0.3, 0.12, 0.04, 0.02])
    out, cur = [], start
    for _ in range(count):
        if abs(last) >= 3:
            d = -int(np.sign(last))
        else:
            d = int(rng.choice(deltas, p=weights))
        cur, last = cur + d, d
        out.append(cur)
    return out


class _Writer:
    """Scale-index bookkeeping for :func:`procedural_melody` (indices into ``pitches``)."""

    def __init__(self, rng, tonic_pc: int, mode: str, low: int, high: int, groups: list[float]):
        self.rng = rng
        self.per = len(MODES[mode])  # scale steps per octave
        self.group_starts = set(np.cumsum([0.0, *groups[:-1]]).round(6))
        self.pitches = scale_pitches(tonic_pc, mode, low, high)
        scale = {p % 12 for p in self.pitches}
        if not any(p % 12 == tonic_pc for p in self.pitches) or len(self.pitches) < 5:
            raise UserError(f"range {low}-{high} is too narrow for a {mode} melody")
        tonic = set(chord_pcs(tonic_pc, mode, 0)) & scale or {tonic_pc}
        dominant = set(chord_pcs(tonic_pc, mode, 4)) & scale or tonic
        self.chords = {"I": tonic, "V": dominant}
        self.tonic = {tonic_pc}
        self.half = (dominant - {tonic_pc}) or (scale - {tonic_pc})
        self.notes: list[list] = []  # [onset, duration, index]

    def fit(self, idx: list[int]) -> list[int]:
        """Shift a figure by whole octaves (in scale steps), then reflect notes into range."""
        n, per = len(self.pitches), self.per
        while max(idx) >= n and min(idx) - per >= 0:
            idx = [i - per for i in idx]
        while min(idx) < 0 and max(idx) + per < n:
            idx = [i + per for i in idx]
        out = []
        for i in idx:
            i = -i if i < 0 else (2 * (n - 1) - i if i >= n else i)
            out.append(min(max(i, 0), n - 1))
        return out

    def nearest(self, pcs: set[int], near: int) -> int:
        cands = [i for i, p in enumerate(self.pitches) if p % 12 in pcs]
        return min(cands, key=lambda i: (abs(i - near), i))

    @property
    def cur(self) -> int:
        return self.notes[-1][2] if self.notes else len(self.pitches) // 2

    def add(self, t: float, durs: list[float], idx: list[int], chord: str, snap: bool) -> None:
        """Append one bar's notes; with ``snap`` most notes on a beat move to a chord tone."""
        onset = t
        for d, i in zip(durs, idx, strict=True):
            beat = round(onset - t, 6)
            strong = beat == 0 or beat in self.group_starts
            if snap and strong and self.pitches[i] % 12 not in self.chords[chord]:
                if self.rng.random() < (0.85 if beat == 0 else 0.6):
                    cands = [j for j in (i - 1, i + 1) if 0 <= j < len(self.pitches)]
                    cands = [j for j in cands if self.pitches[j] % 12 in self.chords[chord]]
                    if cands:
                        i = min(cands, key=lambda j: (abs(j - self.cur), j))
            self.notes.append([onset, d, i])
            onset += d

    def cadence(self, t: float, durs: list[float], long: float, pcs: set[int], breath: bool):
        """A lead-in walking towards a goal tone, then the goal held for ``long`` beats."""
        lead = _walk(self.rng, self.cur, len(durs)) if durs else []
        lead = self.fit(lead) if lead else []
        self.add(t, durs, lead, "V", snap=True)
        goal = self.nearest(pcs, self.cur)
        if self.notes and abs(self.notes[-1][2] - goal) != 1:
            # Approach the goal by step, from the side the line was already on.
            side = 1 if self.notes[-1][2] > goal else -1
            if not 0 <= goal + side < len(self.pitches):
                side = -side
            self.notes[-1][2] = goal + side
        hold = long - 0.5 if breath and long >= 1.5 else long
        self.notes.append([t + sum(durs), hold, goal])


def procedural_melody(
    rng: np.random.Generator,
    *,
    tonic_pc: int,
    mode: str,
    meter: str,
    bars: int,
    low: int = 60,
    high: int = 79,
    density: float = 0.5,
    title: str = "procedural",
) -> Melody:
    """Write a new tune from motifs, the way a folk tune or a hymn is built.

    Bars are grouped into 2-bar (4-bar from 8 bars up) phrases, paired as antecedent
    (ending on a dominant-chord tone, a half cadence) and consequent (opening like its
    antecedent, ending on the tonic). Each phrase opens with a one-bar motif (rhythm cell +
    contour) and varies it: exact repeat, sequence (moved by a scale step), inversion,
    rhythmic split/merge. Lines move by step with an occasional leap, each leap resolved by
    a step back; notes on beats lean to tonic/dominant chord tones. The last note is the
    tonic on a downbeat, held for the whole bar (for ``bars=1``, held from the last beat).

    Args:
        density: 0..1, note rate: 0 mostly half and quarter notes, 1 mostly eighths and
            sixteenths (about 0.6 to 3.6 notes per quarter note).
    """
    if mode not in MODES:
        raise UserError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
    if bars < 1:
        raise UserError(f"bars must be >= 1, got {bars}")
    groups = _beat_groups(meter)
    bar_beats = meter_beats(meter)
    rate = 0.6 + 3.0 * min(max(density, 0.0), 1.0)
    w = _Writer(rng, tonic_pc, mode, low, high, groups)

    def new_motif() -> tuple[list[float], list[int]]:
        durs = _bar_rhythm(rng, groups, rate)
        rel = [0, *_walk(rng, 0, len(durs) - 1)]
        return durs, rel

    plen = 4 if bars >= 8 else 2
    lengths = [plen] * (bars // plen)
    rest = bars % plen
    if rest >= 2 or not lengths:
        lengths.append(rest)
    else:
        lengths[-1] += rest
    lengths = [n for n in lengths if n]
    motifs = [new_motif(), new_motif()]
    lead_groups = groups[: max(1, len(groups) // 2)] if len(groups) > 1 else []
    opening: list[list] = []  # the antecedent's first bar, which its consequent repeats
    bar = 0
    for p, length in enumerate(lengths):
        consequent = p % 2 == 1 or p == len(lengths) - 1
        final_phrase = p == len(lengths) - 1
        durs, rel = motifs[(p // 2) % 2]
        anchor = w.nearest(w.chords["I"], w.cur)
        for j in range(length):
            t = bar * bar_beats
            chord = "I" if j % 2 == 0 else "V"
            if j == length - 1:  # the cadence bar
                if final_phrase and bars > 1:  # the last bar: the tonic, held
                    w.cadence(t, [], bar_beats, w.tonic, breath=False)
                else:
                    lead = _bar_rhythm(rng, lead_groups, rate) if lead_groups else []
                    long = bar_beats - sum(lead)
                    pcs = w.tonic if consequent else w.half
                    w.cadence(t, lead, long, pcs, breath=not final_phrase and rng.random() < 0.4)
            elif j == 0 and consequent and opening and p % 2 == 1:
                for o, d, i in opening:  # parallel period: the consequent opens like its antecedent
                    w.notes.append([o - opening[0][0] + t, d, i])
            elif j == 0:
                w.add(t, durs, w.fit([anchor + r for r in rel]), chord, snap=False)
                opening = [list(n) for n in w.notes[-len(durs) :]]
            else:
                kind = rng.choice(
                    ["sequence", "inversion", "rhythm", "free"], p=[0.35, 0.2, 0.3, 0.15]
                )
                if kind == "sequence":
                    anchor += int(rng.choice([-2, -1, 1, 2]))
                    idx = [anchor + r for r in rel]
                    bar_durs = durs
                elif kind == "inversion":
                    idx = [anchor - r for r in rel]
                    bar_durs = durs
                elif kind == "rhythm":
                    bar_durs, vrel = _vary_rhythm(rng, durs, rel, density)
                    idx = [anchor + r for r in vrel]
                else:
                    bar_durs = _bar_rhythm(rng, groups, rate)
                    idx = _walk(rng, w.cur, len(bar_durs))
                w.add(t, bar_durs, w.fit(idx), chord, snap=True)
            bar += 1

    notes = tuple((round(o, 6), round(d, 6), w.pitches[i]) for o, d, i in w.notes)
    return Melody("procedural", title, meter, tonic_pc, mode, notes)
