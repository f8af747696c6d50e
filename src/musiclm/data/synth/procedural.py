"""A procedural melody writer: motifs, phrases and cadences for any mode and meter."""

from __future__ import annotations

import math

import numpy as np

from musiclm.data.synth.melodies import (
    Melody,
    _parse_meter,
    meter_beats,
)
from musiclm.errors import UserError
from musiclm.theory import MODES, chord_pcs, scale_pitches

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
