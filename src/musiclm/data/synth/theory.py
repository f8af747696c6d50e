"""Just enough music theory for the composer: pitch names, modes, chords, progressions."""

from __future__ import annotations

PITCH_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]

# Scale steps in semitones above the tonic. The last three are the "maqam-like" and
# raga-like colours the engine uses for Middle-Eastern / Indian / Japanese templates.
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "hijaz": (0, 1, 4, 5, 7, 8, 10),  # maqam Hijaz (12-TET approximation)
    "double harmonic": (0, 1, 4, 5, 7, 8, 11),  # raga Bhairav / maqam Hijaz Kar
    "in": (0, 1, 5, 7, 8),  # Japanese in (miyako-bushi) pentatonic
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}

# Modes whose third is major (for caption wording and chord quality defaults).
MAJOR_LIKE = {"major", "mixolydian", "lydian", "major pentatonic", "hijaz", "double harmonic"}


def pitch_name(pc: int) -> str:
    return PITCH_NAMES[pc % 12]


def pitch_class(name: str) -> int:
    """Parse "C", "F#", "Bb", "c#" into a pitch class."""
    aliases = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "Fb": "E"}
    n = name.strip()
    n = n[:1].upper() + n[1:].lower().replace("-", "b")
    n = aliases.get(n, n)
    if n == "E#":
        return 5
    if n == "B#":
        return 0
    if n not in PITCH_NAMES:
        raise ValueError(f"unknown pitch name {name!r}")
    return PITCH_NAMES.index(n)


def scale_pitches(tonic_pc: int, mode: str, low: int, high: int) -> list[int]:
    """All MIDI pitches of the scale in [low, high]."""
    steps = set((tonic_pc + s) % 12 for s in MODES[mode])
    return [p for p in range(low, high + 1) if p % 12 in steps]


def seven_note(mode: str) -> tuple[int, ...]:
    """A heptatonic frame for harmony: pentatonic/blues/in modes borrow the nearest one."""
    frame = {
        "major pentatonic": "major",
        "minor pentatonic": "minor",
        "blues": "minor",
        "in": "phrygian",
    }
    return MODES[frame.get(mode, mode)]


def chord_pcs(tonic_pc: int, mode: str, degree: int, size: int = 3) -> list[int]:
    """Pitch classes of the diatonic chord on scale ``degree`` (0 = tonic), stacked thirds.

    ``size`` 3 gives a triad, 4 a seventh chord, 2 a power chord (root + fifth).
    """
    scale = seven_note(mode)
    if size == 2:
        root = (tonic_pc + scale[degree % 7]) % 12
        return [root, (root + 7) % 12]
    return [(tonic_pc + scale[(degree + 2 * k) % 7]) % 12 for k in range(size)]


def nearest_pitch(pc: int, target: int) -> int:
    """The MIDI pitch of class ``pc`` closest to ``target``."""
    base = target - ((target - pc) % 12)
    return base if target - base <= 6 else base + 12
