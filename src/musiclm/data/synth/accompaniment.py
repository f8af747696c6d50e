"""Harmony fitted to a melody, and the figures that play it: comping patterns and bass lines.

Chords are chosen bar by bar to cover the melody's notes (strong beats and long notes
weigh most) while leaning on the genre's progression, so harmony fits the tune rather
than running beside it.
"""

from __future__ import annotations

import numpy as np

from musiclm.data.synth.song import Note
from musiclm.theory import MAJOR_LIKE, chord_pcs, nearest_pitch


def fit_chords(
    melody: list[Note],
    n_bars: int,
    bar_beats: float,
    tonic: int,
    mode: str,
    progression: list[int],
    prior_weight: float = 2.0,
) -> list[int]:
    """Pick a scale degree (0-6) for each bar.

    Score of degree d in bar b = sum over melody notes sounding in b of
    duration x (2 on the downbeat, 1 elsewhere) x (+1 if a chord tone else -0.4),
    plus ``prior_weight`` if d is the progression's chord for b.
    """
    by_bar: list[list[Note]] = [[] for _ in range(n_bars)]
    for n in melody:
        b = int(n.start // bar_beats)
        if 0 <= b < n_bars:
            by_bar[b].append(n)
    degrees = []
    for b in range(n_bars):
        prior = progression[b % len(progression)]
        best, best_score = prior, -1e9
        for d in range(7):
            pcs = set(chord_pcs(tonic, mode, d))
            score = prior_weight if d == prior else 0.0
            for n in by_bar[b]:
                w = min(n.dur, bar_beats) * (2.0 if abs(n.start - b * bar_beats) < 1e-6 else 1.0)
                score += w * (1.0 if n.pitch % 12 in pcs else -0.4)
            if score > best_score + 1e-9:
                best, best_score = d, score
        degrees.append(best)
    return degrees


def cadence(degrees: list[int], mode: str) -> list[int]:
    """End on the tonic, approached from the dominant where the mode has one."""
    out = list(degrees)
    if len(out) >= 2 and mode in MAJOR_LIKE | {"minor", "harmonic minor"}:
        out[-2] = 4
    if out:
        out[-1] = 0
    return out


def voice(pcs: list[int], center: int, prev: list[int] | None = None) -> list[int]:
    """Close voicing of ``pcs`` near ``center``, moving each voice as little as possible
    from the previous chord."""
    if prev and len(prev) == len(pcs):
        anchor = sorted(prev)
        return sorted(nearest_pitch(pc, a) for pc, a in zip(_rotate_to(pcs, anchor), anchor))
    root = nearest_pitch(pcs[0], center - 4)
    out = [root]
    for pc in pcs[1:]:
        p = root + ((pc - root) % 12)
        out.append(p)
    return sorted(out)


def _rotate_to(pcs: list[int], anchor: list[int]) -> list[int]:
    """Assign chord tones to voices: the rotation whose pitch classes are nearest the anchor."""
    best, best_cost = pcs, 1e9
    for r in range(len(pcs)):
        rot = pcs[r:] + pcs[:r]
        cost = sum(min((p - a) % 12, (a - p) % 12) for p, a in zip(rot, [x % 12 for x in anchor]))
        if cost < best_cost:
            best, best_cost = rot, cost
    return best


# Comping figures on a 16th grid for one 4/4 bar (other meters use the first steps and
# fall back to the beat grid): onset steps and length in steps.
FIGURES: dict[str, list[tuple[int, int]]] = {
    "stab": [(2, 1), (6, 1), (10, 1), (14, 1)],
    "skank": [(4, 1), (12, 1)],
    "comp": [(0, 3), (6, 2), (11, 3)],
    "bossa": [(0, 2), (3, 2), (6, 2), (10, 2), (13, 2)],
    "montuno": [(0, 1), (2, 1), (3, 1), (6, 1), (8, 1), (10, 1), (11, 1), (14, 1)],
    "strum": [(0, 3), (3, 3), (6, 2), (8, 2), (10, 3), (14, 2)],
    "power": [(s, 2) for s in range(0, 16, 2)],
}


def comp_bar(
    style: str,
    chord: list[int],
    bar_start: float,
    bar_beats: float,
    velocity: int,
    rng: np.random.Generator,
) -> list[Note]:
    """Notes of one bar of accompaniment in ``style`` over the voiced ``chord``."""
    steps = int(round(bar_beats * 4))
    notes: list[Note] = []

    def add(step: float, length: float, pitches: list[int], vel: int, spread: float = 0.0):
        for k, p in enumerate(pitches):
            notes.append(Note(bar_start + step / 4 + k * spread, length / 4, p, vel))

    if style in ("block", "pad"):
        hold = steps if style == "pad" or steps <= 8 else steps // 2
        for s in range(0, steps, hold):
            add(s, hold * (1.0 if style == "pad" else 0.95), chord, velocity)
    elif style == "arpeggio":
        seq = chord + [chord[1] + 12] if len(chord) >= 2 else chord
        rate = 2 if steps >= 8 else 1  # eighths
        for i, s in enumerate(range(0, steps, rate)):
            add(s, rate * 1.5, [seq[i % len(seq)]], velocity - (0 if i % 2 == 0 else 8))
    elif style == "alberti":
        lo, hi = chord[0], chord[-1]
        mid = chord[len(chord) // 2]
        seq = [lo, hi, mid, hi]
        for i, s in enumerate(range(0, steps, 2)):
            add(s, 2, [seq[i % 4]], velocity - (0 if i % 2 == 0 else 10))
    elif style == "drone":
        root = chord[0]
        add(0, steps, [root - 12, root - 5], velocity)  # tonic and fifth below, tanpura-like
    elif style == "power":
        root = chord[0] if chord[0] >= 40 else chord[0] + 12
        for s, length in FIGURES["power"]:
            if s < steps:
                add(s, length * 0.9, [root, root + 7], velocity - (0 if s % 8 == 0 else 12))
    else:
        figure = FIGURES.get(style, FIGURES["stab"])
        if style == "comp":  # jazz comping varies bar to bar
            figure = [(s, n) for s, n in figure if rng.random() < 0.8] or figure[:1]
        spread = 0.02 if style == "strum" else 0.0
        for s, length in figure:
            if s < steps:
                add(s, length, chord, velocity - (0 if s % 4 == 0 else 6), spread)
    return notes


BASS_RHYTHMS: dict[str, list[tuple[int, int, str]]] = {
    # (step, length in steps, degree: r=root f=fifth o=octave)
    "root": [(0, 7, "r"), (8, 7, "r")],
    "root_fifth": [(0, 4, "r"), (8, 4, "f")],
    "eighths": [(s, 2, "r") for s in range(0, 16, 2)],
    "octave": [(s, 2, "r" if s % 4 == 0 else "o") for s in range(0, 16, 2)],
    "offbeat": [(s, 2, "r") for s in (2, 6, 10, 14)],
    "sustained": [(0, 16, "r")],
    "drone": [(0, 16, "r")],
    "funk": [
        (0, 2, "r"),
        (3, 1, "o"),
        (6, 2, "r"),
        (8, 1, "r"),
        (10, 2, "f"),
        (13, 1, "o"),
        (14, 2, "r"),
    ],
    "reggae": [(2, 2, "r"), (4, 2, "r"), (8, 3, "f"), (12, 2, "r")],
    "bossa": [(0, 5, "r"), (6, 2, "f"), (8, 5, "r"), (14, 2, "f")],
    "tumbao": [(6, 6, "r"), (12, 4, "f")],
    "taiko": [(0, 4, "r"), (8, 4, "r"), (10, 2, "r")],
}


def bass_bar(
    style: str,
    chord: list[int],
    next_root_pc: int,
    bar_start: float,
    bar_beats: float,
    low: int,
    velocity: int,
    rng: np.random.Generator,
    kick_steps: list[int] | None = None,
) -> list[Note]:
    """One bar of bass under ``chord`` (pitch classes, root first)."""
    steps = int(round(bar_beats * 4))
    root = nearest_pitch(chord[0], low + 7)
    notes: list[Note] = []
    if style in ("walking", "continuo"):
        beats = int(bar_beats)
        target = nearest_pitch(next_root_pc, root)
        tones = [root + ((pc - chord[0]) % 12) for pc in chord[1:]] or [root + 7]
        line = [root]
        for k in range(1, beats):
            if k == beats - 1:  # approach the next root from a semitone away
                line.append(target + (1 if rng.random() < 0.5 else -1))
            else:
                line.append(tones[int(rng.integers(len(tones)))])
        for k, p in enumerate(line):
            notes.append(Note(bar_start + k, 0.9, p, velocity - (0 if k == 0 else 8)))
        return notes
    if style == "808":
        hits = sorted(set((kick_steps or [0, 8]) + [0]))
        hits = [h for h in hits if h < steps]
        for i, h in enumerate(hits):
            end = hits[i + 1] if i + 1 < len(hits) else steps
            notes.append(Note(bar_start + h / 4, (end - h) / 4, root, velocity))
        return notes
    offsets = {"r": 0, "f": 7, "o": 12}
    for s, length, d in BASS_RHYTHMS.get(style, BASS_RHYTHMS["root"]):
        if s < steps:
            notes.append(
                Note(
                    bar_start + s / 4,
                    min(length, steps - s) / 4 * 0.95,
                    root + offsets[d],
                    velocity,
                )
            )
    return notes
