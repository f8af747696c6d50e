"""Turn a :class:`Song` into audio (FluidSynth + FluidR3_GM) and into a MIDI file.

One :class:`Renderer` per worker process keeps the soundfont loaded (loading costs
~0.2 s, more than rendering a 10 s clip) and resets the synth between clips: FluidSynth's
system reset silences voices and clears the reverb/chorus buffers, so a clip renders
the same bytes whatever was rendered before it (tested).
"""

from __future__ import annotations

import ctypes
import os
import shutil
from pathlib import Path

import numpy as np

from musiclm.data.synth.song import Song
from musiclm.errors import UserError
from musiclm.io import atomic_path

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/local/share/soundfonts/FluidR3_GM.sf2",
    "/opt/homebrew/share/soundfonts/FluidR3_GM.sf2",
)
INSTALL_HINT = (
    "install FluidSynth and the FluidR3 GM soundfont: "
    "`sudo apt-get install fluidsynth fluid-soundfont-gm` (Debian/Ubuntu), "
    "`brew install fluid-synth` + a FluidR3_GM.sf2 (macOS), or pass --soundfont PATH"
)
TARGET_LUFS = -18.0  # leaves ~17 dB for peaks under -1 dBFS; dense mixes may still hit the cap
PEAK = 0.89  # -1 dBFS
REVERB_WET = {
    "ambient": 0.45,
    "orchestral": 0.35,
    "classical": 0.3,
    "baroque": 0.25,
    "japanese": 0.3,
    "techno": 0.08,
    "trap": 0.08,
    "metal": 0.06,
    "punk": 0.06,
    "chiptune": 0.0,
}


def find_soundfont(path: str | os.PathLike | None = None) -> Path:
    """The soundfont to use: ``path``, $MUSICLM_SOUNDFONT, or FluidR3_GM where distros put it."""
    if path:
        if not Path(path).is_file():
            raise UserError(f"soundfont not found: {path}")
        return Path(path)
    for cand in [os.environ.get("MUSICLM_SOUNDFONT"), *SOUNDFONT_CANDIDATES]:
        if cand and Path(cand).is_file():
            return Path(cand)
    raise UserError(f"no General MIDI soundfont found; {INSTALL_HINT}")


def check_fluidsynth() -> None:
    """Fail with one clear line if libfluidsynth cannot be loaded."""
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth loads libfluidsynth at import)
    except (ImportError, OSError) as e:
        where = shutil.which("fluidsynth") or "not on PATH"
        raise UserError(
            f"FluidSynth library unavailable ({e}; fluidsynth binary: {where}); {INSTALL_HINT}"
        ) from None


class Renderer:
    """Renders songs at one sample rate with one soundfont.

    Every clip gets a fresh FluidSynth instance: a reused one keeps per-voice state
    (measured: the same note rendered twice after a system reset differs from sample 2
    on), which would make a clip's bytes depend on the clips rendered before it. A
    long-lived "keeper" synth holds the soundfont so FluidSynth's sample cache makes
    each fresh load cost ~0.1 s instead of ~0.2 s.
    """

    def __init__(self, sample_rate: int = 24000, soundfont: str | os.PathLike | None = None):
        check_fluidsynth()
        import fluidsynth

        self.sample_rate = sample_rate
        self.soundfont = str(find_soundfont(soundfont))
        c = ctypes
        self._write_float = fluidsynth._fl.fluid_synth_write_float
        self._write_float.argtypes = [
            c.c_void_p,
            c.c_int,
            c.c_void_p,
            c.c_int,
            c.c_int,
            c.c_void_p,
            c.c_int,
            c.c_int,
        ]
        self._keeper, _ = self._new_synth()

    def _new_synth(self):
        import fluidsynth

        # FluidSynth's own reverb/chorus stay off: their buffers outlive a reset.
        synth = fluidsynth.Synth(
            samplerate=float(self.sample_rate),
            gain=0.25,
            channels=16,
            **{"synth.reverb.active": 0, "synth.chorus.active": 0},
        )
        sfid = synth.sfload(self.soundfont)
        if sfid < 0:
            synth.delete()
            raise UserError(f"FluidSynth could not load the soundfont {self.soundfont}")
        return synth, sfid

    def close(self) -> None:
        self._keeper.delete()

    def _samples(self, synth, n: int) -> np.ndarray:
        """``n`` stereo frames as float32 (n, 2). (pyfluidsynth's get_samples() writes
        16-bit through FluidSynth's dither, whose running state is another history.)"""
        buf = np.zeros((n, 2), dtype=np.float32)
        ptr = buf.ctypes.data
        self._write_float(synth.synth, n, ptr, 0, 2, ptr + 4, 0, 2)
        return buf

    def render(self, song: Song, rng: np.random.Generator) -> np.ndarray:
        """Mono float32 audio of exactly ``song.seconds``, loudness-normalised."""
        fs, sfid = self._new_synth()
        try:
            audio = self._render(fs, sfid, song, rng)
        finally:
            fs.delete()
        return normalise(audio, self.sample_rate)

    def _render(self, fs, sfid: int, song: Song, rng: np.random.Generator) -> np.ndarray:
        sr = self.sample_rate
        events: list[tuple[int, int, int, int, int]] = []  # (sample, on?, channel, key, velocity)
        drum_free, melodic_free = [9, 15, 14, 13], [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]
        for p in song.parts:
            ch = (drum_free if p.spec.drum else melodic_free).pop(0)
            fs.program_select(ch, sfid, 128 if p.spec.drum else 0, p.spec.program)
            fs.cc(ch, 7, p.volume)
            fs.cc(ch, 10, p.pan)
            jitter = song.humanize_ms / 1000.0
            for n in p.notes:
                t0 = song.seconds_at(_swing(n.start, song.swing))
                t1 = song.seconds_at(_swing(n.start + n.dur, song.swing))
                if jitter:
                    t0 += float(rng.normal(0, jitter / 2))
                    t1 = max(t1, t0 + 0.02)
                vel = int(np.clip(n.velocity + (rng.integers(-6, 7) if jitter else 0), 1, 127))
                s0 = max(0, int(round(t0 * sr)))
                s1 = max(s0 + 1, int(round(t1 * sr)))
                events.append((s0, 1, ch, midi_pitch(n.pitch), vel))
                events.append((s1, 0, ch, midi_pitch(n.pitch), 0))
        events.sort()  # note-offs (0) before note-ons (1) at the same sample
        total = int(round(song.seconds * sr))
        chunks, pos = [], 0
        for s, on, ch, key, vel in events:
            if s >= total:
                break
            if s > pos:
                chunks.append(self._samples(fs, s - pos))
                pos = s
            if on:
                fs.noteon(ch, key, vel)
            else:
                fs.noteoff(ch, key)
        if total > pos:
            chunks.append(self._samples(fs, total - pos))
        audio = np.concatenate(chunks).mean(axis=1)[:total]
        audio = add_reverb(audio, sr, REVERB_WET.get(song.genre.id, 0.12))
        fade = int(0.25 * sr)  # no clipped tails
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        if song.fade_seconds:
            n = int(song.fade_seconds * sr)
            audio[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32) ** 2
        return audio


def add_reverb(audio: np.ndarray, sample_rate: int, wet: float, seconds: float = 1.2) -> np.ndarray:
    """A small room: convolution with a fixed exponentially decaying noise burst (seeded,
    so renders stay deterministic). FluidSynth's reverb is off (see Renderer)."""
    from scipy.signal import fftconvolve

    if wet <= 0:
        return audio
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    ir = np.random.default_rng(1234).standard_normal(n) * np.exp(
        -t * 6.9 / seconds
    )  # -60 dB at the end
    ir[: int(0.01 * sample_rate)] = 0.0  # 10 ms pre-delay
    ir /= np.sqrt(np.sum(ir**2))
    tail = fftconvolve(audio, ir.astype(np.float32))[: len(audio)]
    return (audio + wet * tail).astype(np.float32)


def _swing(beat: float, amount: float) -> float:
    """Delay off-beat eighths: [0, .5] -> [0, .5+d], [.5, 1] -> [.5+d, 1] within each beat;
    amount 1 gives the triplet feel (off-beat at 2/3)."""
    if not amount:
        return beat
    whole, frac = divmod(beat, 1.0)
    d = amount / 6.0
    if frac <= 0.5:
        return whole + frac * (0.5 + d) / 0.5
    return whole + 0.5 + d + (frac - 0.5) * (0.5 - d) / 0.5


def normalise(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """ITU-R BS.1770 loudness to TARGET_LUFS (pyloudnorm), then keep peaks under -1 dBFS."""
    import pyloudnorm

    if not np.any(audio):
        return audio
    loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64))
    if np.isfinite(loudness):
        audio = audio * np.float32(10 ** ((TARGET_LUFS - loudness) / 20))
    peak = float(np.max(np.abs(audio)))
    if peak > PEAK:
        audio = audio * np.float32(PEAK / peak)
    return audio.astype(np.float32)


def midi_pitch(pitch: int) -> int:
    """A pitch folded by octaves into MIDI's 0..127: a tune transposed up for a high lead
    can pass G9, and MIDI cannot say so (the file write failed on it)."""
    p = int(pitch)
    while p > 127:
        p -= 12
    while p < 0:
        p += 12
    return p


def write_midi(song: Song, path: str | os.PathLike) -> None:
    """The score as a standard MIDI file (times in seconds, swing applied, no humanising)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=song.tempo)
    num, den = (int(x) for x in song.meter.split("/"))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
    if song.mode in ("major", "minor"):
        pm.key_signature_changes.append(
            pretty_midi.KeySignature(song.tonic + (12 if song.mode == "minor" else 0), 0.0)
        )
    for p in song.parts:
        inst = pretty_midi.Instrument(
            program=p.spec.program, is_drum=p.spec.drum, name=f"{p.name} ({p.role})"
        )
        for n in p.notes:
            t0 = song.seconds_at(_swing(n.start, song.swing))
            t1 = min(song.seconds, song.seconds_at(_swing(n.start + n.dur, song.swing)))
            if t0 < song.seconds:
                inst.notes.append(
                    pretty_midi.Note(
                        velocity=int(np.clip(n.velocity, 1, 127)),  # as rendered
                        pitch=midi_pitch(n.pitch),
                        start=t0,
                        end=max(t1, t0 + 0.01),
                    )
                )
        pm.instruments.append(inst)
    with atomic_path(path) as tmp:
        pm.write(str(tmp))
