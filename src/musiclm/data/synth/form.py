"""Song form: how many bars, which sections, and where the ending falls."""

from __future__ import annotations

import math

ELECTRONIC_NAMES = {"verse": "build", "chorus": "drop", "bridge": "breakdown"}
CYCLE = ("verse", "chorus", "verse", "chorus", "bridge", "chorus", "chorus")


def plan_length(seconds: float, tempo: float, bar_beats: float, ending: str) -> tuple[float, float]:
    """Split ``seconds`` into (body beats, tail seconds).

    The body holds the sections; the tail is the final chord ringing out (or, for a
    fade-out, more music under the fade). The body is whole bars when at least one bar
    fits, else whole beats, so even 5 s clips end on a downbeat.
    """
    beat = 60.0 / tempo
    tail = min(4.0, max(2.5, 0.2 * seconds), 0.45 * seconds) if ending != "fade-out" else 0.0
    beats = math.floor((seconds - tail) / beat + 1e-6)
    if beats >= bar_beats:
        beats = math.floor(beats / bar_beats) * bar_beats
    beats = max(beats, 1)
    return float(beats), seconds - beats * beat


def fade_seconds(seconds: float) -> float:
    """How long a fade-out ending fades: a fifth of the song, 2 to 8 s."""
    return min(8.0, max(2.0, 0.2 * seconds))


def plan_sections(
    body_beats: float, bar_beats: float, electronic: bool = False
) -> list[tuple[str, float, float]]:
    """Sections (name, start beat, end beat) covering the body.

    Phrase units scale with length (4-bar phrases in long songs, 1-bar in clips) so a
    5-minute song gets intro, repeated verse/chorus pairs, a bridge and an outro, while
    a 10 s clip gets an intro and a verse.
    """
    bars = int(body_beats // bar_beats)
    if bars < 2:
        sections = [("verse", 0.0, body_beats)]
    else:
        unit = 4 if bars >= 24 else 2 if bars >= 8 else 1
        plan: list[tuple[str, int]] = [("intro", unit)]
        left = bars - unit - (unit if bars >= 4 * unit else 0)
        k = 0
        while left > 0:
            length = left if left - 2 * unit < unit else 2 * unit  # no stub sections
            plan.append((CYCLE[k % len(CYCLE)], length))
            left -= length
            k += 1
        if bars >= 4 * unit:
            plan.append(("outro", unit))
        sections, t = [], 0.0
        for name, length in plan:
            sections.append((name, t, t + length * bar_beats))
            t += length * bar_beats
        extra = body_beats - t  # a partial bar (never at these lengths, but keep the body covered)
        if extra > 0:
            name, s, e = sections[-1]
            sections[-1] = (name, s, e + extra)
    if electronic:
        sections = [(ELECTRONIC_NAMES.get(n, n), s, e) for n, s, e in sections]
    return sections
