"""The composed piece as data: notes in beats, parts, sections. Rendering, MIDI writing
and captioning all read a :class:`Song`; nothing else is shared between them."""

from __future__ import annotations

from dataclasses import dataclass, field

from musiclm.data.synth.genres import Genre
from musiclm.data.synth.instruments import InstrumentSpec


@dataclass
class Note:
    start: float  # beats (quarter notes) from the start of the piece
    dur: float  # beats
    pitch: int  # MIDI pitch (drum-map note for drum parts)
    velocity: int


@dataclass
class Part:
    name: str  # instrument name (instruments.INSTRUMENTS key)
    role: str  # melody / counter / harmony / pad / bass / drums / percussion
    spec: InstrumentSpec
    notes: list[Note] = field(default_factory=list)
    features: tuple[str, ...] = ()  # audible traits captions may name
    volume: int = 100  # MIDI CC7
    pan: int = 64  # MIDI CC10


@dataclass
class Song:
    genre: Genre
    tempo: float  # quarter notes per minute
    meter: str
    tonic: int  # pitch class
    mode: str
    seconds: float
    parts: list[Part]
    sections: list[tuple[str, float, float]]  # (name, start beat, end beat)
    melody_source: str
    arrangement: str  # band / only humming / only whistling / solo
    ending: str  # final chord / ring-out / fade-out
    moods: tuple[str, ...]
    era: str | None = None
    uses: tuple[str, ...] = ()
    descriptors: tuple[str, ...] = ()
    swing: float = 0.0
    fade_seconds: float = 0.0  # audio fade at the end (fade-out endings)
    humanize_ms: float = 0.0  # random timing offsets applied at render time

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.tempo

    @property
    def bar_beats(self) -> float:
        num, den = (int(x) for x in self.meter.split("/"))
        return num * 4 / den

    def seconds_at(self, beat: float) -> float:
        return beat * self.beat_seconds
