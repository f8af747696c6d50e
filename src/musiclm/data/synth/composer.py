"""Compose one piece from (seed, index): genre, tempo, key, melody, harmony, arrangement.

Clip ``index`` of a corpus depends only on ``(seed, index)`` (its own random generator),
so the same seed gives the same clips whatever the worker count or corpus size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musiclm.data.synth import accompaniment as acc
from musiclm.data.synth import drums
from musiclm.data.synth.form import fade_seconds, plan_length, plan_sections
from musiclm.data.synth.genres import GENRES, Genre
from musiclm.data.synth.instruments import INSTRUMENTS, get_instrument
from musiclm.data.synth.melodies import Melody, meter_family, pick_melody
from musiclm.data.synth.procedural import procedural_melody
from musiclm.data.synth.song import Note, Part, Song
from musiclm.theory import MAJOR_LIKE, MODES, chord_pcs, nearest_pitch, seven_note

ARRANGEMENTS = ("band", "only humming", "only whistling", "solo")
ELECTRONIC_GROOVES = {"techno", "house", "trap", "dnb", "synthwave", "chiptune"}
CORPUS_FILTER = {"chorale": ("bach",), "celtic": ("ryansMammoth", "oneills1850", "airdsAirs")}


@dataclass(frozen=True)
class ComposeOptions:
    """What the user pinned; everything else is drawn from the clip's generator."""

    seconds: float = 10.0
    genres: tuple[str, ...] = ()  # genre ids to draw from (empty = all)
    lead: str | None = None  # force the melody instrument
    arrangement: str | None = None  # force one of ARRANGEMENTS


def clip_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index, 0x6D75])


def map_mode(pitch: int, tonic: int, src: str, dst: str) -> int:
    """Move a pitch from mode ``src`` to mode ``dst`` on the same tonic, degree by degree
    (chromatic notes keep their offset); non-heptatonic targets snap to the nearest tone."""
    src7, dst7 = seven_note(src), seven_note(dst)
    rel = pitch - tonic
    octave, d = divmod(rel, 12)
    k = max(i for i, s in enumerate(src7) if s <= d)
    p = tonic + 12 * octave + dst7[k] + (d - src7[k])
    scale = MODES[dst]
    if len(scale) != 7:
        pcs = [(tonic + s) % 12 for s in scale]
        p = min((p + o for o in (0, -1, 1, -2, 2)), key=lambda q: (q % 12 not in pcs, abs(q - p)))
    return p


def choose_melody(
    rng: np.random.Generator, g: Genre, meter: str, tonic: int, mode: str, low: int, high: int
) -> tuple[list[Note], float, str]:
    """The tune: a real one from the music21 corpus (moved to our key, mode and register)
    or a procedural one. Returns (notes in beats, length in beats, source)."""
    kind = str(rng.choice(g.melody_from))
    family = meter_family(meter)
    pool_ok = kind != "procedural" and family is not None
    if pool_ok and family == "compound" and kind == "chorale":
        pool_ok = False  # no compound-meter chorales in the corpus
    if pool_ok:
        m: Melody = pick_melody(rng, meter_family=family, prefer=CORPUS_FILTER.get(kind))
        m = m.transposed((tonic - m.tonic_pc) % 12).to_range(low, high)
        notes = [
            Note(on, dur, map_mode(p, tonic, m.mode, mode) if m.mode != mode else p, 96)
            for on, dur, p in m.notes
        ]
        return notes, m.length_beats, m.source
    bars = 4 if rng.random() < 0.5 else 8
    density = float(rng.uniform(*g.density))
    m = procedural_melody(
        rng, tonic_pc=tonic, mode=mode, meter=meter, bars=bars, low=low, high=high, density=density
    )
    return [Note(on, dur, p, 96) for on, dur, p in m.notes], m.length_beats, "procedural"


def _section_roles(name: str, short: bool) -> set[str]:
    if short:  # clips under 8 bars: everyone plays after the intro, so all named parts sound
        return (
            {"melody", "harmony", "bass", "pad", "drums", "percussion"}
            if name != "intro"
            else {"harmony", "pad", "drums"}
        )
    return {
        "intro": {"harmony", "pad", "drums"},
        "verse": {"melody", "harmony", "bass", "drums"},
        "build": {"melody", "harmony", "bass", "drums"},
        "chorus": {"melody", "harmony", "bass", "pad", "drums", "percussion"},
        "drop": {"melody", "harmony", "bass", "pad", "drums", "percussion"},
        "bridge": {"melody", "pad", "bass", "percussion"},
        "breakdown": {"melody", "pad", "harmony"},
        "outro": {"harmony", "bass", "pad", "drums", "percussion"},
    }.get(name, {"melody", "harmony", "bass", "drums"})


def compose(seed: int, index: int, opts: ComposeOptions = ComposeOptions()) -> Song:
    rng = clip_rng(seed, index)
    pool = opts.genres or tuple(GENRES)
    g = GENRES[pool[int(rng.integers(len(pool)))]]
    tempo = float(rng.integers(g.tempo[0], g.tempo[1] + 1))
    meter = str(rng.choice(g.meters))
    mode = str(rng.choice(g.modes))
    tonic = int(rng.integers(12))
    drawn = str(rng.choice(ARRANGEMENTS, p=[0.78, 0.08, 0.08, 0.06]))
    arrangement = opts.arrangement or ("band" if opts.lead else drawn)
    if arrangement == "solo" and not g.solo:
        arrangement = "band"
    ending = str(rng.choice(g.endings))
    song_bar = int(meter.split("/")[0]) * 4 / int(meter.split("/")[1])
    body, _tail = plan_length(opts.seconds, tempo, song_bar, ending)
    electronic = g.groove in ELECTRONIC_GROOVES
    sections = plan_sections(body, song_bar, electronic)
    n_bars = int(np.ceil(body / song_bar))
    short = n_bars < 8

    # instruments
    def pick(names: tuple[str, ...]) -> str:
        return str(names[int(rng.integers(len(names)))])

    lead = opts.lead or pick(g.solo if arrangement == "solo" else g.lead)
    harmony_name, bass_name = pick(g.harmony), pick(g.bass)
    pad_name = pick(g.pad) if g.pad and rng.random() < 0.6 else None
    kit = pick(g.kits) if g.kits and arrangement != "solo" else None
    perc = [p for p in g.percussion if rng.random() < 0.6] if arrangement != "solo" else []
    if arrangement in ("only humming", "only whistling"):
        lead = harmony_name = bass_name = "humming" if arrangement == "only humming" else "whistle"
        pad_name = None
    lead_spec = get_instrument(lead)
    lo, hi = max(lead_spec.low, 52), min(lead_spec.high, 84)
    if hi - lo < 12:
        lo, hi = lead_spec.low, lead_spec.high
    melody, mel_len, source = choose_melody(rng, g, meter, tonic, mode, lo, hi)
    mel_len = max(mel_len, song_bar)

    # melody laid over the sections: verses from the tune's start, choruses from its
    # second half, so repeated sections repeat material (song structure a model can learn)
    parts: dict[str, Part] = {}

    def part(role: str, name: str) -> Part:
        if role not in parts:
            spec = INSTRUMENTS[name]
            parts[role] = Part(
                name, role, spec, volume=int(min(127, ROLE_VOLUME[role.split(":")[0]] * spec.level))
            )
        return parts[role]

    solo_poly = arrangement == "solo" and not lead_spec.sustained
    mel_notes: list[Note] = []
    second_half = (mel_len // 2 // song_bar) * song_bar
    for name, s, e in sections:
        if "melody" not in _section_roles(name, short) and arrangement != "solo":
            continue
        offset = second_half if name in ("chorus", "drop") else 0.0
        velocity = 100 if name in ("chorus", "drop") else 92
        for n in melody:  # the tune is periodic in mel_len; start it `offset` beats in
            t = s + (n.start - offset) % mel_len
            while t < e - 1e-6:
                mel_notes.append(Note(t, min(n.dur, e - t), n.pitch, velocity))
                t += mel_len
    mel_notes.sort(key=lambda n: n.start)
    part("melody", lead).notes = mel_notes

    # harmony fitted to the melody, with the genre's progression as a prior
    key_kind = "major" if mode in MAJOR_LIKE else "minor"
    progression = g.progressions[key_kind][int(rng.integers(len(g.progressions[key_kind])))]
    modal = all(d == progression[0] for d in progression) or len(progression) == 12
    degrees = acc.fit_chords(
        mel_notes, n_bars, song_bar, tonic, mode, progression, 4.0 if modal else 2.0
    )
    degrees = acc.cadence(degrees, mode) if not modal else degrees[:-1] + [0]
    size = 4 if g.comp in ("comp",) or g.id in ("jazz", "lofi", "bossa_nova", "blues") else 3
    chords = [chord_pcs(tonic, mode, d, size) for d in degrees]

    h_spec = INSTRUMENTS[harmony_name]
    b_spec = INSTRUMENTS[bass_name]
    h_center = min(max(60, h_spec.low + 12), h_spec.high - 8)
    comp_style = "pad" if arrangement in ("only humming", "only whistling") else g.comp
    if solo_poly:  # one polyphonic instrument plays tune, chords and bass
        harmony_name = bass_name = lead
        h_center, comp_style = (
            60,
            "alberti" if g.comp in ("alberti", "pad", "block") else "arpeggio",
        )
        b_spec = lead_spec
    bass_style = g.bass_style if arrangement not in ("only humming", "only whistling") else "root"
    groove = drums.groove_for(g.groove, meter)
    kick_steps = sorted(
        {int(b * 4) for b, note, _ in drums.pattern_hits(groove, meter, 0) if note == drums.KICK}
    )
    prev: list[int] | None = None
    for name, s, e in sections:
        roles = (
            _section_roles(name, short)
            if arrangement != "solo"
            else {"harmony", "bass"}
            if solo_poly
            else set()
        )
        for bar in range(int(s // song_bar), int(np.ceil(e / song_bar))):
            start = bar * song_bar
            length = min(song_bar, e - start)
            chord = chords[min(bar, len(chords) - 1)]
            nxt = chords[min(bar + 1, len(chords) - 1)][0]
            voiced = acc.voice(chord, h_center, prev)
            prev = voiced
            if "harmony" in roles:
                part("harmony", harmony_name).notes += acc.comp_bar(
                    comp_style, voiced, start, length, 72, rng
                )
            if "pad" in roles and pad_name:
                part("pad", pad_name).notes += acc.comp_bar(
                    "pad", acc.voice(chord, 64), start, length, 58, rng
                )
            if "bass" in roles:
                part("bass", bass_name).notes += acc.bass_bar(
                    bass_style, chord, nxt, start, length, b_spec.low, 96, rng, kick_steps
                )
            if kit and "drums" in roles:
                intro = name == "intro"
                hits = drums.pattern_hits(groove, meter, bar)
                if intro:  # intros keep only kick and hats
                    hits = [
                        h for h in hits if h[1] in (drums.KICK, drums.HAT, drums.PEDAL, drums.RIDE)
                    ]
                last_bar = bar == int(np.ceil(e / song_bar)) - 1
                if last_bar and not intro and e < body and rng.random() < 0.7:
                    fill = drums.fill_hits(meter, rng)
                    cut = fill[0][0]
                    hits = [h for h in hits if h[0] < cut or h[1] == drums.KICK] + fill
                if start == s and name not in ("intro",) and s > 0:
                    hits.append((0.0, drums.CRASH, 100))
                part("drums", kit).notes += [
                    Note(start + b, 0.25, n, v) for b, n, v in hits if b < length
                ]
            plays_perc = name != "intro" and ("percussion" in roles or not kit)
            for k, p in enumerate(perc if plays_perc else []):
                pat = drums.PERCUSSION[p] + (
                    [drums.SON_CLAVE] if g.id == "latin" and k == 0 else []
                )
                part(f"percussion:{p}", p).notes += [
                    Note(start + b, 0.25, n, int(v * 0.85))
                    for b, n, v in drums.pattern_hits(pat, meter, bar)
                    if b < length
                ]

    _ending(parts, chords, body, opts.seconds, tempo, ending, tonic, h_center, b_spec.low)
    song_parts = [p for p in parts.values() if _audible(p, tempo)]
    for p in song_parts:
        p.role = p.role.split(":")[0]
        p.features = _features(p, g, comp_style, bass_style)
    swing = g.swing * float(rng.uniform(0.7, 1.0)) if g.swing else 0.0
    return Song(
        genre=g,
        tempo=tempo,
        meter=meter,
        tonic=tonic,
        mode=mode,
        seconds=opts.seconds,
        parts=song_parts,
        sections=sections
        + [("ending", body, body + (opts.seconds - body * 60 / tempo) * tempo / 60)],
        melody_source=source,
        arrangement=arrangement,
        ending=ending,
        moods=tuple(str(m) for m in rng.choice(g.moods, size=min(2, len(g.moods)), replace=False)),
        era=g.eras[int(rng.integers(len(g.eras)))],
        uses=g.uses,
        descriptors=g.descriptors,
        swing=swing,
        fade_seconds=fade_seconds(opts.seconds) if ending == "fade-out" else 0.0,
        humanize_ms=8.0 if g.humanize else 0.0,
    )


ROLE_VOLUME = {"melody": 112, "harmony": 84, "pad": 72, "bass": 100, "drums": 100, "percussion": 82}


def _ending(parts, chords, body, seconds, tempo, ending, tonic, h_center, bass_low) -> None:
    """The real ending: a tonic chord on the downbeat after the body, held, struck to ring,
    or (fade-out) the groove simply continues under the fade."""
    if ending == "fade-out":
        # loop the last bars of every pitched part and the drums under the fade
        tail_beats = (seconds - body * 60 / tempo) * tempo / 60
        for p in parts.values():
            last = [n for n in p.notes if n.start >= body - 4]
            for n in last:
                for k in range(1, int(tail_beats // 4) + 2):
                    on = n.start + 4 * k
                    if on < body + tail_beats:
                        p.notes.append(Note(on, n.dur, n.pitch, n.velocity))
        return
    # hold the final chord, then leave ~1.5 s for its release and the room to die away
    tail_s = seconds - body * 60 / tempo
    hold = max(0.3, tail_s - 1.6 if ending == "final chord" else 0.3) * tempo / 60
    final = chords[-1]  # the cadence made it the tonic
    for role, p in parts.items():
        if role == "melody" and p.notes:
            last = p.notes[-1].pitch
            p.notes.append(
                Note(
                    body,
                    hold,
                    min(
                        (last + o for o in range(-6, 7) if (last + o) % 12 == tonic),
                        key=lambda q: abs(q - last),
                    ),
                    96,
                )
            )
        elif role in ("harmony", "pad"):
            p.notes += [Note(body, hold, q, 76) for q in acc.voice(final, h_center)]
        elif role == "bass":
            p.notes.append(Note(body, hold, nearest_pitch(tonic, bass_low + 7), 100))
        elif role == "drums":
            p.notes += [Note(body, 0.5, drums.KICK, 110), Note(body, 0.5, drums.CRASH, 105)]


def _audible(p: Part, tempo: float) -> bool:
    """A part is named only if it really sounds: at least two notes and half a second."""
    total = sum(n.dur for n in p.notes) * 60 / tempo
    return len(p.notes) >= 2 and (total >= 0.5 or p.spec.drum)


def _features(p: Part, g: Genre, comp: str, bass_style: str) -> tuple[str, ...]:
    if p.role == "drums":
        used = {n.pitch for n in p.notes}
        feats = []
        for f in drums.GROOVE_FEATURES.get(g.groove, ()):
            if (
                ("kick" in f and drums.KICK not in used)
                or ("clap" in f and drums.CLAP not in used)
                or ("hi-hat" in f and not used & {drums.HAT, drums.OPEN})
            ):
                continue
            feats.append(f)
        if p.name == "brush drum kit":
            feats.append("brushed snare")
        return tuple(feats)
    if p.role == "bass":
        return {
            "walking": ("walking bass",),
            "funk": ("slap",) if p.name == "slap bass" else (),
        }.get(bass_style, ())
    if p.role == "harmony":
        return {
            "skank": ("offbeat skanks",),
            "power": ("power chords",),
            "arpeggio": ("arpeggios",),
            "strum": ("strummed chords",),
            "drone": ("drone",),
            "montuno": ("montuno",),
        }.get(comp, ())
    return ()
