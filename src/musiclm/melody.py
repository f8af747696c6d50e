"""A melody condition from audio or MIDI: per-frame melody ids at ``MELODY_RATE`` (25 Hz).

    ids = load_melody("hum.wav", seconds=20)       # (500,) int64, looped or cut to 20 s
    ids = melody_from_midi("clip.mid", seconds=10)  # training labels from the engine's score

An id is ``MELODY_REST`` where nothing is sung or played and ``MELODY_PC0 + pc`` where
the tune sounds pitch class ``pc`` (C = 0), :mod:`musiclm.conditions`. Octave is dropped
(a hum an octave low is the same tune) and pitch classes are *absolute*, not relative to
a key: the accompaniment must be in the key the user hummed, and the goal metric
(:func:`musiclm.eval.melody.melody_cosine`) compares absolute chroma (docs/melody.md).

Audio goes through PESTO (Riou et al., ISMIR 2023; ``pesto-pitch``, its 0.5 MB weights
ship in the wheel), chosen by ``benchmarks/melody_trackers.py`` over torchcrepe, pYIN
and basic-pitch (docs/melody.md): the best on hummed tunes and on tunes inside an
arrangement, as good as any on solo instruments and sine tones, and 10x real time on
one thread at its 20 ms hop, with nothing but torch. Frame k covers ``[k / 25,
(k + 1) / 25)`` seconds in both sources.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musiclm.conditions import MELODY_PC0, MELODY_RATE, MELODY_REST
from musiclm.errors import UserError

MIN_SECONDS = 0.5  # a melody shorter than this is a mistake, not a tune
MAX_SECONDS = 300.0  # 5 minutes: refused from the file header, before decoding
TRACK_RATE = 16000  # the tracker's input rate (PESTO's CQT covers ~27 Hz to 4 kHz there)
HOP_MS = 20.0  # tracker frames: 2 per melody frame (10 ms: 1-2 points better, half as fast)
CONFIDENCE = 0.5  # PESTO's voicing confidence: voicing precision 0.98, recall 0.99-1.0 alone
GATE_DB = 40.0  # frames quieter than the loudest by more than this are rests
SMOOTH_S = 0.15  # the running median for the tuning: about one vibrato cycle (5-7 Hz)
SILENT_PEAK = 1e-3  # -60 dBFS: a recording whose peak stays under this is silent


def frame_count(seconds: float) -> int:
    """Melody frames in ``seconds`` (250 for 10 s)."""
    return int(round(seconds * MELODY_RATE))


# ---------------------------------------------------------------- f0 -> ids


def ids_from_f0(
    times: np.ndarray, f0: np.ndarray, voiced: np.ndarray, n_frames: int | None = None
) -> np.ndarray:
    """A tracker's frames (``times`` s, ``f0`` Hz, ``voiced`` bool, all ``(N,)``) -> ids.

    The tune's tuning (a hummer a quarter-tone flat; FluidR3's whistle is ~40 cents
    sharp) is measured and removed before rounding to semitones: the circular mean of the
    fractional semitone of the pitch after a running median over ``SMOOTH_S`` (the median
    of a vibrato cycle is its centre, so wide vibrato does not drag the mean; measured on
    sine tunes with 40-cent vibrato: 0.53 -> 0.87 pitch-class accuracy). The frames are
    then rounded as tracked, not smoothed, so short notes survive. Each 40 ms melody frame
    takes the majority of its tracker frames (voiced if most are, then the commonest pitch
    class), and a one-frame blip between two equal neighbours is replaced by them.
    """
    times, f0 = np.asarray(times, float), np.asarray(f0, float)
    voiced = np.asarray(voiced, bool) & np.isfinite(f0) & (f0 > 0)
    if n_frames is None:
        n_frames = int(np.ceil(times[-1] * MELODY_RATE)) if len(times) else 0
    n = n_frames
    ids = np.full(n, MELODY_REST, np.int64)
    if not voiced.any() or n == 0:
        return ids
    midi = np.full(len(f0), np.nan)
    midi[voiced] = 69.0 + 12.0 * np.log2(f0[voiced] / 440.0)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.01
    half = max(0, int(round(SMOOTH_S / step / 2)))
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(midi, half, constant_values=np.nan), 2 * half + 1
    )[voiced]
    smooth = np.nanmedian(windows, axis=1)  # every window's centre is voiced: never all-NaN
    offset = np.angle(np.exp(2j * np.pi * smooth).mean()) / (2 * np.pi)
    pcs = np.full(len(f0), -1)
    pcs[voiced] = np.round(midi[voiced] - offset).astype(int) % 12
    k = np.floor(times * MELODY_RATE).astype(int)
    keep = (k >= 0) & (k < n)
    k, pcs = k[keep], pcs[keep]
    # votes[frame, 0] = unvoiced tracker frames, votes[frame, 1 + pc] = frames of pc
    votes = np.zeros((n, 13), np.int64)
    np.add.at(votes, (k, pcs + 1), 1)
    is_voiced = votes[:, 1:].sum(1) > votes[:, 0]
    ids[is_voiced] = MELODY_PC0 + votes[is_voiced, 1:].argmax(1)
    if n >= 3:  # one-frame blips
        blip = (ids[:-2] == ids[2:]) & (ids[1:-1] != ids[:-2])
        ids[1:-1][blip] = ids[:-2][blip]
    return ids


# ---------------------------------------------------------------- audio -> ids


@functools.lru_cache(maxsize=2)
def _pesto(hop_ms: float = HOP_MS):
    """PESTO's model, loaded once. pesto imports torchaudio only to read files, which we
    never ask of it; where torchaudio is missing or broken (PyPI's torchaudio wheels are
    CUDA builds and fail to load beside a CPU torch), a stand-in module satisfies that
    import and fails loudly if anything does use it."""
    stand_in = None
    try:
        import torchaudio  # noqa: F401
    except (ImportError, OSError):
        stand_in = sys.modules["torchaudio"] = _TorchaudioStandIn("torchaudio")
    try:
        import pesto
    except ImportError:
        raise UserError(
            "melody conditioning needs the pitch tracker PESTO: "
            "run make setup, or pip install pesto-pitch"
        ) from None
    finally:  # only pesto's import needs it: other packages probe for torchaudio
        if stand_in is not None and sys.modules.get("torchaudio") is stand_in:
            del sys.modules["torchaudio"]
    model = pesto.load_model("mir-1k_g7", step_size=hop_ms, sampling_rate=TRACK_RATE)
    return model.eval()


class _TorchaudioStandIn(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError(f"torchaudio is not usable here (torchaudio.{name} was asked for)")


def track(
    audio: np.ndarray, sample_rate: int, hop_ms: float = HOP_MS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PESTO's pitch track of mono ``audio``: ``(times s, f0 Hz, confident)``, each
    ``(N,)``, one frame per ``hop_ms``; confident: voicing confidence above ``CONFIDENCE``."""
    import torch

    from musiclm.io import resample

    y = resample(np.asarray(audio, np.float32), sample_rate, TRACK_RATE)
    with torch.inference_mode():
        f0, conf, _vol = _pesto(hop_ms)(
            torch.from_numpy(y)[None], sr=TRACK_RATE, convert_to_freq=True, return_activations=False
        )
    f0, conf = f0[0].numpy().astype(float), conf[0].numpy().astype(float)
    times = np.arange(len(f0)) * hop_ms / 1000
    return times, f0, conf > CONFIDENCE


def loud(audio: np.ndarray, sample_rate: int, times: np.ndarray) -> np.ndarray:
    """Whether each instant in ``times`` is within ``GATE_DB`` of the loudest 40 ms of
    ``audio``: trackers are confident on reverb tails and breath noise, which are rests."""
    import librosa

    hop = max(1, int(sample_rate * 0.01))
    rms = librosa.feature.rms(
        y=np.asarray(audio, np.float32), frame_length=4 * hop, hop_length=hop
    )[0]  # 40 ms windows every 10 ms
    db = 20 * np.log10(np.maximum(rms, 1e-10))
    at = np.clip(np.round(np.asarray(times) * sample_rate / hop).astype(int), 0, len(db) - 1)
    return db[at] > db.max() - GATE_DB


def melody_ids(audio: np.ndarray, sample_rate: int, frames: int | None = None) -> np.ndarray:
    """The melody of mono ``audio`` ``(samples,)`` as ``(frames,)`` int64 ids (default:
    the audio's length in frames, rounded up); see :func:`ids_from_f0`."""
    audio = np.asarray(audio, np.float32)
    if frames is None:
        frames = int(np.ceil(len(audio) / sample_rate * MELODY_RATE))
    times, f0, confident = track(audio, sample_rate)
    return ids_from_f0(times, f0, confident & loud(audio, sample_rate, times), frames)


# ---------------------------------------------------------------- MIDI -> ids


def melody_from_midi(midi, seconds: float) -> np.ndarray:
    """Training labels: ``frame_count(seconds)`` ids from a MIDI file's melody part.

    ``midi`` is a path or a ``pretty_midi.PrettyMIDI``. The melody is every instrument
    named "... (melody)" (the engine's names), else every pitched instrument; a frame
    takes the highest note sounding at its centre.
    """
    import pretty_midi

    if isinstance(midi, str | os.PathLike):
        try:
            midi = pretty_midi.PrettyMIDI(str(midi))
        except Exception as e:  # mido raises many kinds on a bad file
            raise UserError(f"{midi}: not a readable MIDI file ({e})") from None
    pitched = [i for i in midi.instruments if not i.is_drum]
    parts = [i for i in pitched if i.name.endswith("(melody)")] or pitched
    return top_note_ids((n for inst in parts for n in inst.notes), frame_count(seconds))


def top_note_ids(notes, frames: int) -> np.ndarray:
    """Melody ids ``(frames,)`` of MIDI ``notes`` (with ``start``, ``end`` in seconds and
    ``pitch``): the pitch class of the highest note sounding at each frame's centre, a
    rest where none is."""
    top = np.full(frames, -1, np.int64)
    centres = (np.arange(frames) + 0.5) / MELODY_RATE
    for note in notes:
        on = (centres >= note.start) & (centres < note.end)
        top[on] = np.maximum(top[on], note.pitch)
    return np.where(top >= 0, MELODY_PC0 + top % 12, MELODY_REST).astype(np.int64)


# ---------------------------------------------------------------- a user's melody


@dataclass(frozen=True)
class Melody:
    """A user's melody, read once: its ids at the piece's length, and the tempo and key
    the pipeline gives the piece unless told otherwise."""

    ids: np.ndarray  # (frame_count(seconds),) int64, looped or cut
    tempo: float | None  # bpm (:func:`melody_tempo`), None when no beat is found
    key: str | None  # 'E minor' (:func:`melody_key`), None when the tune names none
    name: str  # for messages and the sidecar


def read_melody(source, seconds: float, sample_rate: int | None = None, *,
                trim: bool = True) -> Melody:  # fmt: skip
    """A user's melody (a path, an array at ``sample_rate`` or ``(array, rate)``) fitted
    to ``seconds``.

    Stereo is folded to mono and any sample rate is taken. The tune is looped (without
    its leading and trailing rests, unless ``trim`` is false) or cut to the piece's length.

    Raises:
        UserError: missing, empty, corrupt or silent audio; shorter than ``MIN_SECONDS``
            or longer than ``MAX_SECONDS``; no pitched melody heard in it.
    """
    audio, sr, name = read_melody_audio(source, sample_rate)
    ids = melody_ids(audio, sr)
    voiced = np.flatnonzero(ids >= MELODY_PC0)
    if len(voiced) == 0:
        raise UserError(f"no melody heard in {name}: hum, whistle or play a tune")
    key, _ = melody_key(ids)
    if trim:
        ids = ids[voiced[0] : voiced[-1] + 1]
    fitted = np.resize(ids, frame_count(seconds)).astype(np.int64)  # repeats the tune to fill
    return Melody(fitted, melody_tempo(audio, sr), key, name)


def load_melody(
    source, sample_rate: int | None = None, *, seconds: float, trim: bool = True
) -> np.ndarray:
    """The ids of :func:`read_melody`: ``frame_count(seconds)`` of them."""
    return read_melody(source, seconds, sample_rate, trim=trim).ids


def melody_key(ids: np.ndarray, min_strength: float = 0.5) -> tuple[str | None, float]:
    """The key a tune implies: its pitch classes, weighted by how long each sounds,
    against the key profiles (:func:`musiclm.analysis.profile_key`); None below
    ``min_strength`` (a tune of one or two notes names no key)."""
    from musiclm.analysis import profile_key

    ids = np.asarray(ids)
    pcs = ids[ids >= MELODY_PC0] - MELODY_PC0
    if len(pcs) == 0:
        return None, 0.0
    name, r = profile_key(np.bincount(pcs, minlength=12)[:12])
    return (name if name != "none" and r >= min_strength else None), r


def read_melody_audio(source, sample_rate: int | None = None) -> tuple[np.ndarray, int, str]:
    """A user's melody audio, checked as :func:`load_melody` says: ``(mono float32, rate,
    a name for messages)``. ``source``: a path, an array at ``sample_rate`` or a tuple
    ``(array, rate)``. For its tempo too: ``melody_tempo(*read_melody_audio(p)[:2])``."""
    from musiclm.io import as_mono, audio_info, check_rate, read_audio

    if isinstance(source, str | os.PathLike):
        path, name = Path(source), f"melody {source}"
        if not path.is_file():
            raise UserError(f"{name} not found" if not path.exists() else f"{name} is not a file")
        if path.stat().st_size == 0:
            raise UserError(f"{name} is empty")
        sr, secs = audio_info(path)
        _check_length(secs, name)
        audio, sr = read_audio(path)
    else:
        if isinstance(source, tuple):
            source, sample_rate = source
        if sample_rate is None:
            raise UserError("a melody given as an array needs its sample_rate")
        sr, name = check_rate(sample_rate), "melody"
        audio = as_mono(source)
        _check_length(len(audio) / sr, name)
    if len(audio) == 0:
        raise UserError(f"{name} is empty")
    if float(np.max(np.abs(audio))) < SILENT_PEAK:
        raise UserError(f"{name} is silent")
    return audio, sr, name


def _check_length(secs: float, name: str) -> None:
    if secs < MIN_SECONDS:
        raise UserError(f"{name} is {secs:.2f} s long; give at least {MIN_SECONDS:g} s")
    if secs > MAX_SECONDS:
        raise UserError(
            f"{name} is {secs / 60:.1f} minutes long; the most is {MAX_SECONDS / 60:g} minutes"
        )


def melody_tempo(audio: np.ndarray, sample_rate: int) -> float | None:
    """The melody's tempo in bpm (:func:`musiclm.analysis.onset_tempo`), or None when none
    or one outside the tempos a prompt may state (``conditions.MIN_TEMPO..MAX_TEMPO``)."""
    from musiclm.analysis import onset_tempo
    from musiclm.conditions import MAX_TEMPO, MIN_TEMPO

    bpm = onset_tempo(audio, sample_rate)
    return round(bpm, 1) if MIN_TEMPO <= bpm <= MAX_TEMPO else None


def piece_tempo(bpm: float, text: str, stated: float | None = None) -> float:
    """The tempo a piece arranging a melody of ``bpm`` is played at: ``bpm``, half or
    double it (the same notes, felt in half or double time), whichever is nearest
    ``stated`` (the text's tempo) or, when the text states none, the tempo range of the
    genre it names (:func:`musiclm.form.genre_in`; pop when none); ``bpm`` on a tie.

    Why: a beat tracker's tempo is ambiguous by an octave, and a tune hummed at 140 bpm
    is just as well a reggae tune at 70. Playing it at the genre's own tempo kept more of
    the text's style (MCC) for a little of the melody cosine (docs/melody.md, "The tempo
    octave")."""
    from musiclm.conditions import MAX_TEMPO, MIN_TEMPO
    from musiclm.data.synth.genres import GENRES
    from musiclm.form import DEFAULT_GENRE, genre_in

    if stated:
        low = high = float(stated)
    else:
        low, high = map(float, GENRES[genre_in(text) or DEFAULT_GENRE].tempo)

    def distance(t: float) -> float:  # octaves outside [low, high]; 0 within
        return max(np.log2(low / t), np.log2(t / high), 0.0)

    options = [t for t in (bpm, bpm / 2, bpm * 2) if MIN_TEMPO <= t <= MAX_TEMPO] or [bpm]
    return round(min(options, key=distance), 1)  # min keeps the first of equals: bpm


__all__ = [
    "MAX_SECONDS",
    "MIN_SECONDS",
    "frame_count",
    "loud",
    "track",
    "ids_from_f0",
    "Melody",
    "load_melody",
    "melody_key",
    "read_melody",
    "melody_from_midi",
    "melody_ids",
    "melody_tempo",
    "piece_tempo",
    "read_melody_audio",
    "top_note_ids",
]
