"""Does the music follow a melody? MusicGen's chroma cosine, and test melodies to measure it.

:func:`melody_cosine` is the metric of MusicGen (Copet et al. 2023, §4.1 "melody
conditioning") as issue 16 states it: per 25 Hz frame, the cosine between the melody's
one-hot pitch class and the output's chroma (librosa's STFT chroma, power spectrum,
absolute tuning, 4096-point window like audiocraft's ``ChromaExtractor``), averaged over
the melody's voiced frames. A frame where the output is silent scores 0. MusicGen-melody
reports 0.44, JASCO 0.423; the same audio scored against its own melody gives ~0.6-0.8
(a clean sine ~0.9), not 1, because harmonics and neighbours leak into other classes.

:func:`sine_melody` makes a random tune as sine tones with vibrato, with its ids: a
melody whose truth is known exactly, for the trackers' benchmark and the tests.
"""

from __future__ import annotations

import numpy as np

from musiclm.conditions import MELODY_PC0, MELODY_RATE, MELODY_REST

CHROMA_RATE = 22050  # chroma analysis rate: 882 samples = one 25 Hz frame
N_FFT = 4096  # 186 ms: resolves semitones down to ~C3


def chroma_frames(audio: np.ndarray, sample_rate: int, n_frames: int | None = None) -> np.ndarray:
    """``(n_frames, 12)`` chroma of mono ``audio`` at ``MELODY_RATE``, frame k centred on
    ``(k + 0.5) / 25`` s like the melody ids; rows of silence are zero. Not normalised."""
    import librosa

    from musiclm.io import resample

    y = resample(np.asarray(audio, np.float32), sample_rate, CHROMA_RATE)
    hop = CHROMA_RATE // MELODY_RATE
    n = n_frames if n_frames is not None else int(np.ceil(len(y) / hop))
    y = y[hop // 2 :]  # librosa centres frame k on k hops; ours sit on (k + 0.5) hops
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop, center=True)) ** 2
    fb = librosa.filters.chroma(sr=CHROMA_RATE, n_fft=N_FFT, tuning=0.0)  # (12, bins)
    chroma = (fb @ power).T  # (frames, 12)
    chroma = np.pad(chroma, ((0, max(0, n - len(chroma))), (0, 0)))[:n]
    return chroma


def melody_cosine(melody_ids: np.ndarray, audio: np.ndarray, sample_rate: int) -> float:
    """MusicGen-style chroma cosine of ``audio`` to ``melody_ids`` ``(frames,)`` at 25 Hz:
    the mean over the melody's voiced frames of ``chroma[pc] / ||chroma||``, the output's
    frames matched by time (past the audio's end they score 0). NaN when the melody has
    no voiced frame."""
    ids = np.asarray(melody_ids)
    voiced = np.flatnonzero(ids >= MELODY_PC0)
    if len(voiced) == 0:
        return float("nan")
    chroma = chroma_frames(audio, sample_rate, len(ids))
    norm = np.linalg.norm(chroma, axis=1)
    # silence (or -100 dB of numerical dust) has no chroma: it follows nothing
    loud = norm > max(norm.max(), 1e-20) * 1e-10
    cos = np.where(loud, chroma[np.arange(len(ids)), np.clip(ids - MELODY_PC0, 0, 11)], 0.0)
    cos = cos / np.where(loud, norm, 1.0)
    return float(cos[voiced].mean())


def sine_melody(
    seed: int,
    seconds: float,
    sample_rate: int = CHROMA_RATE,
    *,
    low: int = 55,
    high: int = 79,
    vibrato_cents: float = 40.0,
    detune_cents: float = 0.0,
    harmonics: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """A random tune as tones with vibrato: ``(audio (samples,), ids (frames(seconds),))``.

    Notes of 0.15-0.8 s on MIDI pitches ``low..high`` (a random walk, so it sounds like a
    tune), one in six a rest; vibrato of 5-6.5 Hz and ``vibrato_cents`` depth; every
    pitch ``detune_cents`` off A440 (a singer out of tune); ``harmonics`` > 1 adds
    overtones falling as 1/k (a hummed timbre). The ids give the note at each frame's
    centre, as :func:`musiclm.melody.melody_from_midi` does.
    """
    rng = np.random.default_rng(seed)
    n_s = int(round(seconds * sample_rate))
    n_f = int(round(seconds * MELODY_RATE))
    f0 = np.zeros(n_s)
    ids = np.full(n_f, MELODY_REST, np.int64)
    t, pitch = 0.0, int(rng.integers(low, high + 1))
    while t < seconds:
        dur = float(rng.uniform(0.15, 0.8))
        a, b = int(t * sample_rate), min(n_s, int((t + dur) * sample_rate))
        if rng.random() >= 1 / 6:
            pitch = int(np.clip(pitch + rng.integers(-4, 5), low, high))
            f0[a:b] = 440.0 * 2 ** ((pitch - 69 + detune_cents / 100) / 12)
            centres = (np.arange(n_f) + 0.5) / MELODY_RATE
            ids[(centres >= t) & (centres < t + dur)] = MELODY_PC0 + pitch % 12
        t += dur
    time = np.arange(n_s) / sample_rate
    rate = rng.uniform(5.0, 6.5)
    f0 = f0 * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * rate * time))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    tone = sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
    # 10 ms fades at every note edge: no clicks (which would smear the chroma)
    env = np.convolve((f0 > 0).astype(float), np.hanning(int(0.02 * sample_rate)), "same")
    env /= max(env.max(), 1e-9)
    audio = 0.3 * tone * env / max(1.0, float(np.max(np.abs(tone))))
    return audio.astype(np.float32), ids


def render_melody_part(midi, sample_rate: int, program: int | None = None) -> np.ndarray:
    """The melody part of an engine MIDI file (its instruments named "... (melody)") played
    alone by FluidSynth, in ``program`` (General MIDI) if given, else its own instrument:
    a tune as a user would hum or play it, with no accompaniment. Peak at -6 dBFS."""
    import pretty_midi

    from musiclm.data.synth.render import check_fluidsynth, find_soundfont

    check_fluidsynth()
    pm = pretty_midi.PrettyMIDI(str(midi))
    alone = pretty_midi.PrettyMIDI()
    for inst in pm.instruments:
        if inst.name.endswith("(melody)"):
            if program is not None:
                inst.program = program
            alone.instruments.append(inst)
    if not alone.instruments:
        raise ValueError(f"{midi} has no melody part")
    audio = alone.fluidsynth(fs=sample_rate, synthesizer=str(find_soundfont()))
    return (0.5 * audio / max(1e-9, float(np.abs(audio).max()))).astype(np.float32)


__all__ = ["chroma_frames", "melody_cosine", "render_melody_part", "sine_melody"]
