"""Extract the melody corpus from music21's bundled scores, once, into the cache file.

Run by `make melodies` / `musiclm data melodies` (2.5 minutes on 2 cores); the result is
shipped with the package, so users never need this.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
from pathlib import Path

import numpy as np

from musiclm.data.synth.melodies import (
    CACHE_FORMAT,
    CACHE_VERSION,
    COLLECTIONS,
    TICKS,
    Melody,
    Note,
    _decode,
    _encode,
)
from musiclm.io import atomic_path
from musiclm.theory import MODES


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
