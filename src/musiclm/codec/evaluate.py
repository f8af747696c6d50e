"""Codec quality at every bitrate, beside Opus, with one metric code for all systems.

Used by ``musiclm codec eval`` and ``benchmarks/codec_quality.py``. Headline metrics are
spectral convergence (SC) and multi-resolution STFT distance; chroma similarity and
onset-envelope correlation say whether harmony and rhythm survive; SI-SNR and log-mel L1
are reported but mislead (band-limited Opus scores worse on mel L1 than an unrelated clip).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from musiclm.codec.losses import (
    chroma_similarity,
    mel_distance,
    mr_stft_distance,
    onset_correlation,
    si_snr,
    spectral_convergence,
)
from musiclm.codec.model import Codec
from musiclm.io import read_audio, resample, write_audio

# opusenc below ~2 kbps gave silent output here (every metric at its floor): not a baseline
OPUS_MIN_KBPS = 2.0
METRICS = ("SC", "MR-STFT", "chroma", "onset r", "SI-SNR", "mel L1")


def metrics(ref: np.ndarray, est: np.ndarray, sr: int) -> dict[str, float]:
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    return {
        "SC": spectral_convergence(ref, est),
        "MR-STFT": mr_stft_distance(ref, est),
        "chroma": chroma_similarity(ref, est, sr),
        "onset r": onset_correlation(ref, est, sr),
        "SI-SNR": si_snr(ref, est),
        "mel L1": mel_distance(ref, est, sr),
    }


def opus_round_trip(audio: np.ndarray, sr: int, kbps: float) -> np.ndarray:
    """Encode with ``opusenc --bitrate kbps --hard-cbr`` and decode back to ``sr``."""
    with tempfile.TemporaryDirectory() as d:
        wav, opus, out = Path(d) / "in.wav", Path(d) / "x.opus", Path(d) / "out.wav"
        write_audio(wav, audio, sr)
        subprocess.run(
            ["opusenc", "--quiet", "--bitrate", f"{kbps:g}", "--hard-cbr", str(wav), str(opus)],
            check=True,
        )
        subprocess.run(["opusdec", "--quiet", "--rate", "48000", str(opus), str(out)], check=True)
        y, rate = read_audio(out)
    return resample(y, rate, sr)


def evaluate(codec: Codec, clips: list[np.ndarray], *, opus: bool = True) -> dict[str, list[dict]]:
    """Metrics per clip for each bitrate the codec serves, Opus at the same and twice those
    bitrates (when ``opusenc`` is installed), and an unrelated clip as the floor."""
    sr = codec.sample_rate
    rows: dict[str, list[dict[str, float]]] = {}
    for q in range(1, codec.levels + 1):
        name = f"codec {q} level{'s' * (q > 1)} ({codec.bitrate(q) / 1000:.1f} kbps)"
        rows[name] = [metrics(y, codec.decode(codec.encode(y, sr, n_levels=q)), sr) for y in clips]
    if opus and shutil.which("opusenc"):
        for q in sorted({1, max(1, codec.levels // 2), codec.levels}):
            for kbps in (codec.bitrate(q) / 1000, 2 * codec.bitrate(q) / 1000):
                if kbps < OPUS_MIN_KBPS:
                    continue
                rows[f"Opus {kbps:.1f} kbps"] = [
                    metrics(y, opus_round_trip(y, sr, kbps), sr) for y in clips
                ]
    if len(clips) > 1:
        rows["unrelated clip"] = [
            metrics(y, clips[(i + 1) % len(clips)], sr) for i, y in enumerate(clips)
        ]
    return rows


def table(rows: dict[str, list[dict[str, float]]]) -> str:
    """A Markdown table of medians over clips."""
    head = "| system | " + " | ".join(METRICS) + " |\n|---|" + "---:|" * len(METRICS) + "\n"
    body = ""
    for name, ms in rows.items():
        med = [statistics.median(m[k] for m in ms) for k in METRICS]
        body += f"| {name} | " + " | ".join(f"{v:.3f}" for v in med) + " |\n"
    return head + body
