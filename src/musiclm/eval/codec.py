"""Codec quality at every bitrate, beside Opus, with one metric code for all systems.

Used by ``musiclm codec eval`` and ``benchmarks/codec_quality.py``. Headline metrics:
frame-wise chroma correlation ("chroma r": are the same pitch classes sounding in every
loud frame? 0 for noise), note F1 of a basic-pitch transcription against the clip's MIDI
(beside the original audio's own F1; needs the optional basic-pitch), spectral
convergence (SC) and multi-resolution STFT distance. Reported too: "chroma cos" (cosine
of chroma vectors, which hid the v1 codec's lost pitch: an unrelated clip scores 0.47),
onset-envelope correlation, SI-SNR and log-mel L1 (which misleads: band-limited Opus
scores worse than an unrelated clip).
"""

from __future__ import annotations

import math
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musiclm.codec.losses import (
    chroma_frame_correlation,
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
OPUS_KBPS = (6.0, 12.0)  # the baselines the codec goals name
METRICS = ("chroma r", "note F1", "SC", "MR-STFT", "mel L1", "chroma cos", "onset r", "SI-SNR")


def metrics(ref: np.ndarray, est: np.ndarray, sr: int) -> dict[str, float]:
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    return {
        "chroma r": chroma_frame_correlation(ref, est, sr),
        "SC": spectral_convergence(ref, est),
        "MR-STFT": mr_stft_distance(ref, est),
        "mel L1": mel_distance(ref, est, sr),
        "chroma cos": chroma_similarity(ref, est, sr),
        "onset r": onset_correlation(ref, est, sr),
        "SI-SNR": si_snr(ref, est),
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


def evaluate(
    codec: Codec,
    clips: list[np.ndarray],
    *,
    opus: bool = True,
    opus_kbps: Sequence[float] = OPUS_KBPS,
    notes: list | None = None,
    levels: Sequence[int] | None = None,
    original: bool = True,
) -> dict[str, list[dict]]:
    """Metrics per clip for the codec at each number of RVQ levels (all of them by
    default), Opus at ``opus_kbps`` (when ``opusenc`` is installed) and an unrelated clip
    as the floor.

    ``notes``: per clip, the reference notes (:func:`musiclm.eval.notes.midi_notes`);
    then "note F1" is measured for the original audio (a row of its own unless
    ``original`` is False), the codec at all levels and Opus.
    """
    sr = codec.sample_rate
    systems: dict[str, list[np.ndarray]] = {}
    if notes is not None and original:
        systems["original"] = list(clips)
    for q in levels or range(1, codec.levels + 1):
        name = f"codec {q} level{'s' * (q > 1)} ({codec.bitrate(q) / 1000:.1f} kbps)"
        systems[name] = [codec.decode(codec.encode(y, sr, n_levels=q)) for y in clips]
    full = name
    if opus and shutil.which("opusenc"):
        for kbps in opus_kbps:
            if kbps >= OPUS_MIN_KBPS:
                systems[f"Opus {kbps:g} kbps"] = [opus_round_trip(y, sr, kbps) for y in clips]
    if len(clips) > 1:
        systems["unrelated clip"] = [clips[(i + 1) % len(clips)] for i in range(len(clips))]
    rows = {
        name: [metrics(y, e, sr) for y, e in zip(clips, ests)] for name, ests in systems.items()
    }
    if notes is not None:
        from musiclm.eval.notes import note_f1, transcribe

        for name, ests in systems.items():
            scored = name in ("original", full) or name.startswith("Opus")
            for row, est, ref, y in zip(rows[name], ests, notes, clips):
                est = est[: len(y)]
                row["note F1"] = note_f1(ref, transcribe(est, sr)) if scored else math.nan
    return rows


def table(rows: dict[str, list[dict[str, float]]]) -> str:
    """A Markdown table of medians over clips ("–" where a metric was not measured)."""
    cols = [k for k in METRICS if any(k in m for ms in rows.values() for m in ms)]
    head = "| system | " + " | ".join(cols) + " |\n|---|" + "---:|" * len(cols) + "\n"
    body = ""
    for name, ms in rows.items():
        cells = []
        for k in cols:
            vals = [m[k] for m in ms if k in m and not math.isnan(m[k])]
            cells.append(f"{statistics.median(vals):.3f}" if vals else "–")
        body += f"| {name} | " + " | ".join(cells) + " |\n"
    return head + body
