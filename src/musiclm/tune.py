"""A tune for pieces that are given none: the melody plan, drawn as the training songs'.

Why: the stages follow a melody closely (benchmarks/pitch_path.py: the score melody
lifts the melody cosine of held-out captions from 0.24 to 0.73 and the key match from
1 in 8 to 5 in 8), while the key token alone moves them little. The corpus engine
composed every training tune — a real melody from music21's corpus moved to the song's
key, mode and register, or a procedural one — and laid it over the song's sections
(verses from the tune's start, choruses from its second half, no tune in the intro and
outro of long songs). :func:`plan_tune` does the same for a piece's form plan, key and
tempo, so a text-only prompt gets notes in the key it states, and a second chorus
repeats the first one's tune, as songs do. On by default (``musiclm generate
--no-tune``, ``GenerationOptions(tune=False)`` turn it off): with it the bundled stages'
pieces are more tonal and play the stated key more often, at some cost in MCC and in the
instruments heard (docs/model.md). Two details matter (docs/model.md, "Tunes that state
their key"): the tune ends as the engine's melodies end (:func:`end_tune`), and of several
drawn the one that states its key most clearly is kept (:func:`key_margin`): a few bars
drawn at random named their own key a third of the time, most often their dominant.
"""

from __future__ import annotations

import math

import numpy as np

from musiclm.conditions import MELODY_PC0, MELODY_RATE, MELODY_REST, Section

TUNE_LOW, TUNE_HIGH = 60, 79  # the register the engine gives most leads (C4..G5)
ENDINGS = ("final chord", "ring-out", "fade-out")  # the engine's (its genres' endings)
LONG_BARS = 8  # songs of at least this many bars rest the tune in intro and outro
# tunes drawn per piece, the one that states its key most clearly kept (key_margin): a
# tune is a few bars of a melody, and one drawn at random named its own key (by the key
# profiles that judge the pieces) for 33 % of 160 plans, most often its dominant; the
# best of 8 for 94 % (docs/model.md, "Tunes that state their key")
TUNE_CANDIDATES = 8
# sections that carry the tune (the engine's composer.py, _section_roles)
TUNE_SECTIONS = {"verse", "chorus", "build", "drop", "bridge", "breakdown"}


def plan_tune(
    sections: tuple[Section, ...],
    seconds: float,
    *,
    genre: str,
    tempo: float,
    meter: str,
    key: int,
    seed: int = 0,
    candidates: int | None = None,
    ending: str = "ring-out",
) -> np.ndarray:
    """Melody ids ``(ceil(seconds * MELODY_RATE),)`` of a tune in ``key`` (a key token:
    tonic + 12 for minor) at ``tempo`` over ``sections``: the engine's tune choice for
    ``genre`` and ``meter``, verses and other sections from its start, choruses and drops
    from its second half, rests elsewhere; in the ``tail`` the engine's ``ending`` (the
    plan's: ``"final chord"``, ``"ring-out"`` or ``"fade-out"``, :func:`end_tune`). ``candidates``
    tunes are drawn (None: :data:`TUNE_CANDIDATES`) and the one whose notes state ``key``
    most clearly (:func:`key_margin`) is kept; the first drawn wins ties."""
    n = TUNE_CANDIDATES if candidates is None else candidates
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"candidates must be an integer >= 1, got {n!r}")
    best, best_margin = None, -np.inf
    for j in range(n):
        entropy = [seed, key, int(tempo * 10), 7] + ([j] if j else [])  # j = 0: as before
        ids = _draw_tune(sections, seconds, genre, tempo, meter, key, entropy)
        ids = end_tune(ids, sections, tempo=tempo, key=key, ending=ending)
        margin = key_margin(ids, key) if n > 1 else 0.0
        if best is None or margin > best_margin:
            best, best_margin = ids, margin
    return best


def end_tune(
    ids: np.ndarray, sections: tuple[Section, ...], *, tempo: float, key: int, ending: str
) -> np.ndarray:
    """``ids`` with the tune's part in the ending, as the corpus engine writes it (its
    ``composer._ending``) and so as every training song's melody has it: after a
    ``"final chord"`` or ``"ring-out"`` the melody holds the tonic from the tail's start,
    for the tail less 1.6 s or for 0.3 s; under a ``"fade-out"`` it loops its last four
    beats. A tune with no notes, or a plan without a tail, is left as it is."""
    if ending not in ENDINGS:
        raise ValueError(f"ending must be one of {ENDINGS}, got {ending!r}")
    if not sections or sections[-1].name != "tail" or not np.any(ids >= MELODY_PC0):
        return ids
    out = ids.copy()
    tail = sections[-1]
    centre = (np.arange(len(ids)) + 0.5) / MELODY_RATE
    inside = (centre >= tail.start) & (centre < tail.end)
    if ending == "fade-out":
        period = 4 * 60.0 / tempo
        source = tail.start - period + (centre[inside] - tail.start) % period
        out[inside] = ids[np.clip((source * MELODY_RATE).astype(np.int64), 0, len(ids) - 1)]
        return out
    span = tail.end - tail.start
    hold = max(0.3, span - 1.6) if ending == "final chord" else 0.3
    out[inside & (centre < tail.start + hold)] = MELODY_PC0 + key % 12
    return out


def key_margin(ids: np.ndarray, key: int) -> float:
    """How clearly melody ids state ``key``: the key-profile correlation of their
    pitch-class histogram (frames, so by duration) with ``key`` minus the best other
    key's, the estimate :func:`musiclm.analysis.key_fit` makes of audio. No notes: -inf."""
    from musiclm.analysis import key_scores

    voiced = ids[ids >= MELODY_PC0] - MELODY_PC0
    hist = np.bincount(voiced % 12, minlength=12).astype(np.float64)
    if np.ptp(hist) == 0:
        return -np.inf
    scores = key_scores(hist)
    return float(scores[key] - np.delete(scores, key).max())


def _draw_tune(sections, seconds, genre, tempo, meter, key, entropy) -> np.ndarray:
    """One tune, drawn with ``np.random.default_rng(entropy)`` (:func:`plan_tune`)."""
    from musiclm.data.synth.composer import choose_melody
    from musiclm.data.synth.genres import GENRES

    rng = np.random.default_rng(entropy)
    tonic, mode = key % 12, ("minor" if key >= 12 else "major")
    notes, length, _ = choose_melody(rng, GENRES[genre], meter, tonic, mode, TUNE_LOW, TUNE_HIGH)
    beat = 60.0 / tempo
    bar = int(meter.split("/")[0]) * 4 / int(meter.split("/")[1]) * beat  # seconds
    length = max(length * beat, bar)
    n = math.ceil(seconds * MELODY_RATE)
    top = np.full(n, -1, np.int64)
    centre = (np.arange(n) + 0.5) / MELODY_RATE
    long = sections and (sections[-1].end - sections[0].start) >= LONG_BARS * bar
    second_half = math.floor(length / 2 / bar) * bar
    for s in sections:
        carries = s.name in TUNE_SECTIONS if long else s.name not in ("intro", "tail")
        if not carries:
            continue
        offset = second_half if s.name in ("chorus", "drop") else 0.0
        inside = (centre >= s.start) & (centre < s.end)
        for note in notes:  # the tune is periodic in its length, started `offset` in
            t = s.start + ((note.start * beat - offset) % length)
            while t < s.end - 1e-6:
                on = inside & (centre >= t) & (centre < min(t + note.dur * beat, s.end))
                top[on] = np.maximum(top[on], note.pitch)
                t += length
    return np.where(top >= 0, MELODY_PC0 + top % 12, MELODY_REST)


def plan_key(genre: str, seed: int) -> int:
    """A key token for a piece whose prompt states none: a tonic at random and a mode of
    the genre's (as the engine draws them), mapped by its third (musiclm.theory)."""
    from musiclm.data.synth.genres import GENRES
    from musiclm.theory import PITCH_NAMES, key_index

    rng = np.random.default_rng([seed, 11])
    mode = str(rng.choice(GENRES[genre].modes))
    return key_index(PITCH_NAMES[int(rng.integers(12))], mode)


__all__ = ["ENDINGS", "TUNE_CANDIDATES", "end_tune", "key_margin", "plan_key", "plan_tune"]
