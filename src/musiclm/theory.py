"""Just enough music theory, in one vocabulary: pitch names, modes, chords, keys.

The corpus engine composes with it (``musiclm.data.synth``), the conditioning reads keys
with it (``musiclm.stages.attributes``, the prompt parser), evaluation names keys with it.

- Spelling: one name per pitch class, as key signatures spell them (``PITCH_NAMES``:
  C# and F#, but Eb, Ab, Bb); any spelling is read (``Db``, ``D#``, ``B-``, ``E#``).
- Keys as tokens: 24 keys, 12 tonics x {major, minor}. A mode counts as the quality of
  its third (:func:`is_major`): dorian, phrygian, harmonic minor, minor pentatonic and
  blues are minor; lydian, mixolydian, major pentatonic, hijaz and double harmonic (a
  major third above a flat second) are major; the Japanese *in* scale, which has no
  third, takes its heptatonic frame's (phrygian: minor).
- Prompts (:func:`parse_key`) are read with the church-mode names (``PROMPT_MODES``). The
  engine's other colours (harmonic minor, hijaz, pentatonic, blues, in) are not read
  from a prompt yet: the bundled stages were trained when those clips' keys were
  unknown, so a prompt naming them keeps the key unknown, as before.
"""

from __future__ import annotations

import re

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

# Other names of modes: read, never written by the engine.
MODE_ALIASES = {"maj": "major", "ionian": "major", "min": "minor", "aeolian": "minor"}
LOCRIAN = (0, 1, 3, 5, 6, 8, 10)  # named in prompts, never composed with


def pitch_name(pc: int) -> str:
    return PITCH_NAMES[pc % 12]


def pitch_class(name: str) -> int:
    """Parse "C", "F#", "Bb", "c#", "B-" (music21's flat), "E♭" into a pitch class."""
    aliases = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "Fb": "E"}
    n = name.strip().replace("♯", "#").replace("♭", "b")
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


def mode_name(mode: str) -> str:
    """The engine's name of a mode ("Dorian" -> "dorian", "aeolian" -> "minor");
    ValueError for names this module does not know."""
    m = " ".join(mode.strip().lower().split())
    m = MODE_ALIASES.get(m, m)
    if m not in MODES and m != "locrian":
        raise ValueError(f"unknown mode {mode!r}")
    return m


def is_major(mode: str) -> bool:
    """Whether a mode counts as major: its (heptatonic frame's) third is a major third."""
    m = mode_name(mode)
    return (LOCRIAN if m == "locrian" else seven_note(m))[2] == 4


# Modes whose third is major (for caption wording and chord quality defaults).
MAJOR_LIKE = {m for m in MODES if is_major(m)}

# -- keys as tokens ----------------------------------------------------------------------

N_KEYS = 24  # 12 tonics x {major, minor}

# Song sections, as the engine names them (data/synth/form.py); "tail" is the ending
# after the last section (a final chord ringing out). Form conditioning ids are 1 + index.
SECTIONS = ("intro", "verse", "chorus", "bridge", "build", "drop", "breakdown", "outro", "tail")


def key_index(tonic: str, mode: str = "major") -> int:
    """``0 .. 23``: the pitch class of ``tonic`` (+12 for minor-like modes)."""
    return pitch_class(tonic) + 12 * (not is_major(mode))


def key_name(index: int) -> str:
    """``0 .. 23`` -> 'C major' ... 'B minor', spelled as ``PITCH_NAMES``."""
    return f"{pitch_name(index)} {'minor' if index >= 12 else 'major'}"


PROMPT_MODES = ("major", "minor", "maj", "min", "dorian", "phrygian", "lydian", "mixolydian",
                "aeolian", "ionian")  # fmt: skip
# the tonic is a capital letter, or any case after "in" ("a minor" may be an article)
_KEY_RE = re.compile(
    r"(?:\b[Ii]n\s+([A-Ga-g])|\b([A-G]))(#|♯|b|♭|-sharp|-flat| sharp| flat)?\s*"
    rf"(?i:({'|'.join(PROMPT_MODES)}))\b"
)


def parse_key(text: str) -> int | None:
    """The key index a prompt states ("in C major", "E minor", "F# dorian"), or None."""
    m = _KEY_RE.search(text)
    if not m:
        return None
    after_in, capital, accidental, mode = m.groups()
    acc = (accidental or "").strip(" -").lower()
    acc = {"sharp": "#", "♯": "#", "flat": "b", "♭": "b"}.get(acc, acc)
    try:
        return key_index((after_in or capital).upper() + acc, mode)
    except ValueError:
        return None


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
