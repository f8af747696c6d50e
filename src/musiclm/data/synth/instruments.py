"""The instruments the engine can play: our names, their General MIDI programs, registers.

Names are what captions say and what users type ("808-style bass", "humming"), so they
are chosen to be the words people use, and each maps to one FluidR3_GM preset.
Drum kits are presets of bank 128; hand percussion plays drum-map notes on a kit.
"""

from __future__ import annotations

from dataclasses import dataclass

from musiclm.errors import UserError


@dataclass(frozen=True)
class InstrumentSpec:
    name: str
    program: int  # GM program 0-127 (bank 0), or kit preset (bank 128) when drum
    low: int = 36  # comfortable MIDI range for melodic writing
    high: int = 96
    drum: bool = False
    sustained: bool = True  # bowed/blown/pad (holds) vs plucked/struck (decays)
    level: float = 1.0  # mix gain relative to others: quiet GM presets get more


def _i(name, program, low, high, sustained=True, level=1.0) -> InstrumentSpec:
    return InstrumentSpec(name, program, low, high, False, sustained, level)


def _kit(name, preset) -> InstrumentSpec:
    return InstrumentSpec(name, preset, 35, 81, True, False)


INSTRUMENTS: dict[str, InstrumentSpec] = {
    s.name: s
    for s in [
        # keys
        _i("piano", 0, 36, 96, False),
        _i("bright piano", 1, 36, 96, False),
        _i("electric piano", 4, 40, 88, False),
        _i("harpsichord", 6, 36, 88, False),
        _i("celesta", 8, 60, 100, False),
        _i("glockenspiel", 9, 72, 105, False, 0.8),
        _i("music box", 10, 60, 96, False),
        _i("vibraphone", 11, 53, 89, False),
        _i("marimba", 12, 48, 84, False),
        _i("xylophone", 13, 65, 100, False),
        _i("tubular bells", 14, 60, 77, False),
        _i("dulcimer", 15, 55, 88, False),
        _i("organ", 16, 36, 88),
        _i("rock organ", 18, 36, 88),
        _i("church organ", 19, 36, 88),
        _i("accordion", 21, 53, 89),
        _i("harmonica", 22, 60, 84),
        # guitars
        _i("nylon guitar", 24, 40, 79, False),
        _i("acoustic guitar", 25, 40, 79, False),
        _i("jazz guitar", 26, 40, 79, False),
        _i("clean electric guitar", 27, 40, 84, False),
        _i("muted guitar", 28, 40, 72, False),
        _i("overdriven guitar", 29, 40, 84),
        _i("distorted guitar", 30, 40, 84, level=0.8),
        # basses
        _i("acoustic bass", 32, 28, 55, False, 1.2),
        _i("electric bass", 33, 28, 55, False, 1.2),
        _i("picked bass", 34, 28, 55, False, 1.2),
        _i("fretless bass", 35, 28, 55, False, 1.2),
        _i("slap bass", 36, 28, 55, False, 1.1),
        _i("synth bass", 38, 28, 55, level=1.1),
        _i("808-style bass", 39, 24, 48, level=1.3),
        # strings
        _i("violin", 40, 55, 96),
        _i("viola", 41, 48, 84),
        _i("cello", 42, 36, 72),
        _i("contrabass", 43, 28, 55),
        _i("tremolo strings", 44, 43, 88),
        _i("pizzicato strings", 45, 36, 84, False),
        _i("harp", 46, 36, 96, False),
        _i("timpani", 47, 38, 55, False, 1.2),
        _i("strings", 48, 36, 96),
        _i("synth strings", 50, 36, 96),
        # voices
        _i("choir", 52, 48, 79),
        _i("humming", 53, 48, 79, level=1.2),
        _i("synth voice", 54, 48, 84),
        # brass
        _i("trumpet", 56, 55, 82),
        _i("trombone", 57, 40, 72),
        _i("tuba", 58, 28, 55),
        _i("muted trumpet", 59, 55, 82),
        _i("french horn", 60, 41, 77),
        _i("brass section", 61, 41, 84),
        _i("synth brass", 62, 41, 84),
        # reeds and pipes
        _i("soprano sax", 64, 56, 87),
        _i("alto sax", 65, 49, 81),
        _i("tenor sax", 66, 44, 76),
        _i("oboe", 68, 58, 91),
        _i("bassoon", 70, 34, 72),
        _i("clarinet", 71, 50, 91),
        _i("piccolo", 72, 74, 105),
        _i("flute", 73, 60, 96),
        _i("recorder", 74, 60, 91),
        _i("pan flute", 75, 60, 91),
        _i("shakuhachi", 77, 55, 86),
        _i("whistle", 78, 60, 96, level=1.1),
        _i("ocarina", 79, 60, 91),
        # synths
        _i("square lead", 80, 48, 96, level=0.8),
        _i("sawtooth lead", 81, 48, 96, level=0.8),
        _i("synth pad", 89, 36, 88, level=0.9),
        _i("polysynth pad", 90, 36, 88, level=0.9),
        # world
        _i("sitar", 104, 48, 84, False),
        _i("banjo", 105, 48, 84, False),
        _i("shamisen", 106, 48, 84, False),
        _i("koto", 107, 48, 88, False),
        _i("kalimba", 108, 60, 88, False),
        _i("bagpipe", 109, 55, 81),
        _i("fiddle", 110, 55, 93),
        _i("shehnai", 111, 58, 86),
        _i("steel drums", 114, 55, 84, False),
        _i("taiko drum", 116, 36, 60, False, 1.2),
        # drum kits (bank 128)
        _kit("standard drum kit", 0),
        _kit("room drum kit", 8),
        _kit("power drum kit", 16),
        _kit("electronic drum kit", 24),
        _kit("TR-808 drum kit", 25),
        _kit("jazz drum kit", 32),
        _kit("brush drum kit", 40),
        _kit("orchestral percussion", 48),
        # hand percussion: drum-map notes on the standard kit
        _kit("congas", 0),
        _kit("bongos", 0),
        _kit("hand drums", 0),
        _kit("shaker", 0),
        _kit("tambourine", 0),
        _kit("timbales", 0),
    ]
}

PITCHED = tuple(n for n, s in INSTRUMENTS.items() if not s.drum)
KITS = tuple(n for n, s in INSTRUMENTS.items() if s.drum)


def get_instrument(name: str) -> InstrumentSpec:
    """Look up an instrument by name (case-insensitive); UserError lists close names."""
    spec = INSTRUMENTS.get(name) or {k.lower(): v for k, v in INSTRUMENTS.items()}.get(name.lower())
    if spec is None:
        import difflib

        close = difflib.get_close_matches(name, list(INSTRUMENTS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UserError(f"unknown instrument {name!r}{hint}; see `musiclm data instruments`")
    return spec
