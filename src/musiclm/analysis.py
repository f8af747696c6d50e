"""Tempo and key of audio, by tools independent of the model (librosa, key profiles).

Below both the pipeline and the evaluation: continuation reads its prompt's tempo and key
with these, :mod:`musiclm.eval` scores generated pieces with the same functions.
"""

from __future__ import annotations

import numpy as np

from musiclm.theory import pitch_name

KEY_RATE = 22050
# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_tempo(audio: np.ndarray, sample_rate: int) -> float:
    """Beats per minute by librosa's beat tracker (0.0 when it finds no beat)."""
    import librosa

    tempo, _ = librosa.beat.beat_track(y=np.asarray(audio, np.float32), sr=sample_rate)
    return float(np.atleast_1d(tempo)[0])


def onset_tempo(audio: np.ndarray, sample_rate: int) -> float:
    """Beats per minute by librosa's onset-autocorrelation estimate: the one its beat
    tracker (:func:`estimate_tempo`) starts from, without the beat search, whose numba
    compilation took ~40 s per process on our CPU; on 12 engine clips the two agreed on
    10 (the tracker found no beat in one). For inputs a user waits on. No onsets (silence,
    a steady tone): 0.0, not the estimator's prior."""
    import librosa

    env = librosa.onset.onset_strength(y=np.asarray(audio, np.float32), sr=sample_rate)
    if not np.any(env > 0):
        return 0.0
    tempo = librosa.feature.tempo(onset_envelope=env, sr=sample_rate)
    return float(np.atleast_1d(tempo)[0])


def key_scores(chroma: np.ndarray) -> np.ndarray:
    """``(24,)`` correlations of a 12-bin pitch-class profile (C first) with the
    Krumhansl–Kessler profiles of every key, in key-index order (C major ... B major, then
    C minor ... B minor: :func:`musiclm.theory.key_index`)."""
    chroma = np.asarray(chroma, np.float64)
    return np.array([np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
                     for profile in (MAJOR, MINOR) for tonic in range(12)])  # fmt: skip


def profile_key(chroma: np.ndarray) -> tuple[str, float]:
    """The best of 24 keys for a 12-bin pitch-class profile (C first) by correlation with
    the Krumhansl–Kessler profiles, and that correlation. Flat: ``("none", 0.0)``."""
    if np.ptp(np.asarray(chroma, np.float64)) < 1e-12:
        return "none", 0.0
    scores = key_scores(chroma)
    best = int(np.argmax(scores))
    return f"{pitch_name(best % 12)} {'minor' if best >= 12 else 'major'}", float(scores[best])


def mean_chroma(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """The mean CQT chroma ``(12,)``, C first, that :func:`key_fit` reads (at
    :data:`KEY_RATE`: the CQT's 7 octaves from C1 need ~4.2 kHz of bandwidth)."""
    import librosa

    from musiclm.io import resample

    y = resample(np.asarray(audio, np.float32), sample_rate, KEY_RATE)
    return librosa.feature.chroma_cqt(y=y, sr=KEY_RATE).mean(axis=1)


def key_fit(audio: np.ndarray, sample_rate: int) -> tuple[str, float]:
    """The best of 24 keys by key-profile correlation with the mean CQT chroma, and that
    correlation ("key strength": 0.77 on engine clips, 0.53 for white noise). Silence:
    ``("none", 0.0)``."""
    if not np.any(audio):
        return "none", 0.0
    return profile_key(mean_chroma(audio, sample_rate))
