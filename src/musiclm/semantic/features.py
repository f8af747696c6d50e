"""Hand-made frame features at 25 Hz: log-mel, chroma and onset strength.

They are what iteration 0 clusters and what the masked-prediction encoder reads. Each
describes one aspect MusicLM's semantic tokens should carry (timbre and loudness; harmony
and melody; rhythm). One power STFT feeds all three, so a 10 s clip costs ~20 ms.

Frame ``t`` stands for samples ``[t * hop, (t + 1) * hop)``: its ``n_fft`` window is centred
there, the clip zero-padded on both sides. A clip of ``n`` samples has ``ceil(n / hop)``
frames: 10 s -> 250, any non-empty clip -> at least 1, an empty one -> 0.
"""

from __future__ import annotations

import functools

import librosa
import numpy as np

from musiclm.errors import UserError
from musiclm.io import as_mono, check_rate, resample
from musiclm.semantic.config import SemanticConfig

AMIN = 1e-10  # power floor of the log-mel: -100 dB, what digital silence maps to


def prepare_audio(audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Mono float32 at ``target_rate`` from ``(samples,)`` or ``(channels, samples)`` audio.

    Raises:
        UserError: a bad shape, non-finite samples or a bad sample rate.
    """
    audio, rate = as_mono(audio, allow_empty=True), check_rate(sample_rate)
    if audio.size == 0:
        return audio
    return np.ascontiguousarray(resample(audio, rate, target_rate), dtype=np.float32)


def num_frames(samples: int, hop_length: int) -> int:
    """Frames of a clip of ``samples``: ``ceil(samples / hop)`` (0 for an empty clip)."""
    return -(-samples // hop_length)


@functools.lru_cache(maxsize=8)
def _filters(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float):
    mel = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    # tuning fixed at A440: estimating it per clip would make tokens depend on the whole clip
    chroma = librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, tuning=0.0)
    return mel.astype(np.float32), chroma.astype(np.float32)


def frame_features(audio: np.ndarray, config: SemanticConfig) -> np.ndarray:
    """Raw (unstandardised) features of mono audio at ``config.sample_rate``.

    Args:
        audio: ``(samples,)`` float.
    Returns:
        ``(frames, config.feature_dim)`` float32: ``n_mels`` log-mel bands in dB, 12 chroma
        bins (each frame's max is 1; 0 in digital silence), then onset strength (mean
        positive log-mel rise from the previous frame, dB).
    """
    c = config
    frames = num_frames(len(audio), c.hop_length)
    if frames == 0:
        return np.zeros((0, c.feature_dim), np.float32)
    # Zero padding puts the centre of window t at the centre of hop t, (t + 1/2) * hop.
    left = (c.n_fft - c.hop_length) // 2
    y = np.zeros((frames - 1) * c.hop_length + c.n_fft, np.float32)
    y[left : left + len(audio)] = audio
    spec = librosa.stft(y, n_fft=c.n_fft, hop_length=c.hop_length, center=False)  # (bins, T)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)  # (bins, frames)
    mel_fb, chroma_fb = _filters(c.sample_rate, c.n_fft, c.n_mels, c.fmin, c.fmax)
    log_mel = 10.0 * np.log10(np.maximum(mel_fb @ power, AMIN))  # (n_mels, frames)
    chroma = chroma_fb @ power  # (12, frames)
    peak = chroma.max(axis=0, keepdims=True)
    chroma = np.where(peak > AMIN, chroma / np.maximum(peak, AMIN), 0.0)
    rise = np.maximum(np.diff(log_mel, axis=1, prepend=log_mel[:, :1]), 0.0)
    onset = rise.mean(axis=0, keepdims=True)  # (1, frames)
    return np.concatenate([log_mel, chroma, onset]).T.astype(np.float32)


def group_scale(config: SemanticConfig) -> np.ndarray:
    """Per-dimension factor applied after standardisation: each group (mel, chroma, onset)
    gets ``weight / sqrt(dims)``, so its expected share of a squared distance is
    ``weight**2`` whatever its size. ``(feature_dim,)`` float32."""
    c = config
    parts = [
        np.full(c.n_mels, c.mel_weight / np.sqrt(c.n_mels)),
        np.full(12, c.chroma_weight / np.sqrt(12)),
        np.full(1, c.onset_weight),
    ]
    return np.concatenate(parts).astype(np.float32)


def moments(features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation over the frames of many clips (float64
    sums, so 10^6 frames lose nothing); a constant dimension gets std 1."""
    n = sum(len(f) for f in features)
    if n == 0:
        raise UserError("no audio frames to fit on (every clip is empty)")
    total = sum(f.sum(0, dtype=np.float64) for f in features)
    mean = total / n
    var = sum(((f - mean) ** 2).sum(0, dtype=np.float64) for f in features) / n
    std = np.sqrt(var)
    std[std < 1e-6] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)
