"""Drum grooves and hand-percussion patterns on the General MIDI drum map.

A pattern is a step string on a 16th-note grid, one character a step: ``X`` accent,
``x`` normal, ``o`` ghost, ``r`` a two-hit roll (trap hi-hats), ``.`` rest. A string may
span several bars; it is read modulo its length. Only the grid is fixed here: swing
and humanising are applied by the composer to every part alike.
"""

from __future__ import annotations

import numpy as np

# General MIDI drum map (the notes we use)
KICK, RIM, SNARE, CLAP, HAT, PEDAL, OPEN = 36, 37, 38, 39, 42, 44, 46
TOM_HI, TOM_MID, TOM_LO, CRASH, RIDE, TAMB, COWBELL = 50, 47, 45, 49, 51, 54, 56
BONGO_HI, BONGO_LO, CONGA_MUTE, CONGA_OPEN, CONGA_LO = 60, 61, 62, 63, 64
TIMB_HI, TIMB_LO, MARACAS, CLAVES = 65, 66, 70, 75

VELOCITY = {"X": 118, "x": 92, "o": 58, "r": 80}

Pattern = list[tuple[int, str]]

_BACKBEAT = (SNARE, "....X.......X...")
_EIGHTH_HATS = (HAT, "x.x.x.x.x.x.x.x.")

# groove -> meter -> pattern; "*" is the generic fallback for any other meter
GROOVES: dict[str, dict[str, Pattern]] = {
    "techno": {
        "4/4": [
            (KICK, "X...X...X...X..."),
            (CLAP, "....x.......x..."),
            (OPEN, "..x...x...x...x."),
            (HAT, "x.o.x.o.x.o.x.o."),
        ]
    },
    "house": {
        "4/4": [
            (KICK, "X...X...X...X..."),
            (CLAP, "....x.......x..."),
            (OPEN, "..x...x...x...x."),
            (HAT, "oxoooxoooxoooxoo"),
        ]
    },
    "disco": {
        "4/4": [
            (KICK, "X...X...X...X..."),
            _BACKBEAT,
            (OPEN, "..x...x...x...x."),
            (HAT, "x...x...x...x..."),
        ]
    },
    "trap": {
        "4/4": [
            (KICK, "X......x..X....x..x.....X.x....."),
            (SNARE, "........X......."),
            (CLAP, "........X......."),
            (HAT, "x.x.x.x.xrx.x.rxx.x.xrx.x.x.rrrr"),
        ]
    },
    "boom_bap": {"4/4": [(KICK, "X.....x...X....."), _BACKBEAT, _EIGHTH_HATS]},
    "lofi": {
        "4/4": [(KICK, "X......x..X....."), (SNARE, "....x.......x..."), (HAT, "x.o.x.o.x.o.x.oo")]
    },
    "dnb": {
        "4/4": [
            (KICK, "X.........x.....X.........x....."),
            (SNARE, "....X.......X..o....X..o....X..."),
            (HAT, "xoxoxoxoxoxoxoxo"),
            (RIDE, "x...x...x...x..."),
        ]
    },
    "rock": {
        "4/4": [(KICK, "X.......X.x....."), _BACKBEAT, _EIGHTH_HATS],
        "3/4": [(KICK, "X.......x..."), (SNARE, "....X...X..."), (HAT, "x.x.x.x.x.x.")],
    },
    "metal": {"4/4": [(KICK, "XxXxXxXxXxXxXxXx"), _BACKBEAT, (RIDE, "x...x...x...x...")]},
    "punk": {"4/4": [(KICK, "X...X...X...X..."), (SNARE, "..X...X...X...X."), _EIGHTH_HATS]},
    "pop": {
        "4/4": [(KICK, "X.....x.X......."), _BACKBEAT, _EIGHTH_HATS],
        "3/4": [(KICK, "X..........."), (SNARE, "....x...x..."), (HAT, "x.x.x.x.x.x.")],
    },
    "jazz": {
        "4/4": [
            (RIDE, "X...x.x.X...x.x."),
            (PEDAL, "....x.......x..."),
            (KICK, "o.......o......."),
            (SNARE, "......o.......o."),
        ],
        "3/4": [(RIDE, "X...x.x.x.x."), (PEDAL, "....x...x..."), (KICK, "o...........")],
    },
    "shuffle": {"4/4": [(KICK, "X.......X......."), _BACKBEAT, (HAT, "x.x.x.x.x.x.x.x.")]},
    "funk": {
        "4/4": [(KICK, "X..x..x...x....."), (SNARE, "....X..o.o..X..o"), (HAT, "xoxoxoxoxoxoxoxo")]
    },
    "one_drop": {
        "4/4": [(KICK, "........X......."), (RIM, "........X......."), (HAT, "x.x.x.x.x.x.x.x.")]
    },
    "bossa": {
        "4/4": [
            (RIM, "x..x..x...x..x....x..x...x..x..."),
            (KICK, "X..xX..xX..xX..x"),
            (HAT, "x.o.x.o.x.o.x.o."),
        ]
    },
    "country": {"4/4": [(KICK, "X.......X......."), _BACKBEAT, (HAT, "x.x.x.x.x.x.x.x.")]},
    "chiptune": {"4/4": [(KICK, "X.......X.x....."), _BACKBEAT, (HAT, "x.x.x.x.x.x.x.x.")]},
    "synthwave": {
        "4/4": [(KICK, "X.......X......."), (SNARE, "....X.......X..."), (HAT, "x.x.x.x.x.x.x.x.")]
    },
    "afrobeat": {
        "4/4": [
            (KICK, "X.....x...X....."),
            (SNARE, "....x..o....x..o"),
            (HAT, "x.xxx.xxx.xxx.xx"),
            (OPEN, "..............x."),
        ]
    },
    "calypso": {"4/4": [(KICK, "X...X...X...X..."), (SNARE, "......x.......x."), _EIGHTH_HATS]},
    "orchestral": {
        "4/4": [(KICK, "X...x...X...x..."), (CRASH, "X...............................")],
        "3/4": [(KICK, "X...x...x..."), (CRASH, "X.......................")],
    },
    "salsa": {"*": []},
    "*": {"*": []},  # generic: built by generic_groove
}

# What a groove audibly has, in words captions may use (only for notes that sound).
GROOVE_FEATURES: dict[str, tuple[str, ...]] = {
    "techno": ("strong kick", "four-on-the-floor kick", "claps", "open hi-hats"),
    "house": ("four-on-the-floor kick", "claps", "open hi-hats"),
    "disco": ("four-on-the-floor kick", "open hi-hats"),
    "trap": ("rolling hi-hats", "booming kick"),
    "metal": ("double kick",),
    "funk": ("syncopated kick", "ghost notes"),
    "one_drop": ("one drop rhythm", "rimshots"),
    "bossa": ("cross-stick rhythm",),
    "jazz": ("ride cymbal",),
    "shuffle": ("shuffle beat",),
    "punk": ("fast beat",),
    "dnb": ("breakbeat",),
}

PERCUSSION: dict[str, Pattern] = {
    "congas": [
        (CONGA_MUTE, "x.......x......."),
        (CONGA_OPEN, "..x...x...x...x."),
        (CONGA_LO, "...X.......X..X."),
    ],
    "bongos": [(BONGO_HI, "x.x.xx.xx.x.xx.x"), (BONGO_LO, "...x...x...x...x")],
    "shaker": [(MARACAS, "xoxoxoxoxoxoxoxo")],
    "tambourine": [(TAMB, "....x.......x...")],
    "timbales": [(TIMB_HI, "x..x..x.x.x..x.x"), (TIMB_LO, "......x.......x.")],
    "hand drums": [(CONGA_LO, "X..x..x.X...x..."), (CONGA_MUTE, "...x...x.x.x...x")],
}
PERCUSSION_FEATURES = {"congas": ("congas",), "bongos": ("bongos",), "timbales": ("timbales",)}
SON_CLAVE = (CLAVES, "X..X..X.....X.X.")  # salsa: son clave (3-2), one bar compressed


def steps_per_bar(meter: str) -> int:
    num, den = (int(x) for x in meter.split("/"))
    return num * 16 // den


def generic_groove(meter: str) -> Pattern:
    """Kick on the first beat (and the middle beat of even meters), snare on the others,
    eighth-note hats: a plain groove for meters without a template."""
    n = steps_per_bar(meter)
    num, den = (int(x) for x in meter.split("/"))
    beat = 6 if den == 8 and num % 3 == 0 else 4  # compound meters beat in dotted quarters
    kick = ["."] * n
    snare = ["."] * n
    for i, s in enumerate(range(0, n, beat)):
        (kick if i == 0 or (n // beat % 2 == 0 and s == n // 2) else snare)[s] = (
            "X" if i == 0 else "x"
        )
    hats = "".join("x" if s % 2 == 0 else "." for s in range(n))
    return [(KICK, "".join(kick)), (SNARE, "".join(snare)), (HAT, hats)]


def groove_for(groove: str, meter: str) -> Pattern:
    table = GROOVES.get(groove, GROOVES["*"])
    if meter in table:
        return table[meter]
    if "*" in table and table["*"]:
        return table["*"]
    return generic_groove(meter)


def pattern_hits(pattern: Pattern, meter: str, bar: int) -> list[tuple[float, int, int]]:
    """Hits of ``pattern`` in bar ``bar`` as (beat within bar, note, velocity); a roll adds
    a 32nd-note echo."""
    n = steps_per_bar(meter)
    hits = []
    for note, steps in pattern:
        if not steps:
            continue
        for s in range(n):
            c = steps[(bar * n + s) % len(steps)]
            if c == ".":
                continue
            hits.append((s / 4, note, VELOCITY[c]))
            if c == "r":
                hits.append((s / 4 + 0.125, note, VELOCITY[c] - 12))
    return hits


def fill_hits(meter: str, rng: np.random.Generator) -> list[tuple[float, int, int]]:
    """A one-beat fill for the last beat of a section: snare/tom 16ths, rising velocity."""
    n = steps_per_bar(meter)
    drums = [SNARE, TOM_HI, TOM_MID, TOM_LO] if rng.random() < 0.6 else [SNARE] * 4
    return [((n - 4 + k) / 4, drums[k], 80 + 10 * k) for k in range(4)]
