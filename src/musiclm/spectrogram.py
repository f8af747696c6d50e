"""Spectrogram pictures: the listen-proxy for docs, benchmarks and ``generate --spectrogram``.

Log-mel panels stacked on one time axis, so a codec's output can be set against the
original and Opus, or a generated clip checked for drum onsets and harmonic lines
without listening. Written with matplotlib's Agg canvas (no pyplot state, no display).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from musiclm.io import atomic_path

N_MELS = 128
HOP = 256
N_FFT = 2048
TOP_DB = 80.0
FULL_SCALE_DB = 40.0  # power_to_db(ref=1) of a full-scale sine in these mel bands, measured


def log_mel(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``(samples,)`` mono -> ``(N_MELS, frames)`` dB: ~0 dB for a full-scale sine, floored
    at ``-TOP_DB`` (silence)."""
    import librosa

    y = np.asarray(audio, dtype=np.float32).reshape(-1)
    if y.size < N_FFT:  # shorter than one window: pad (an empty clip draws as silence)
        y = np.pad(y, (0, N_FFT - y.size))
    mel = librosa.feature.melspectrogram(
        y=y, sr=sample_rate, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, fmax=sample_rate / 2
    )
    # fixed reference (not the clip's max), so panels compare across systems
    db = librosa.power_to_db(mel, ref=1.0, top_db=None) - FULL_SCALE_DB
    return np.maximum(db, -TOP_DB)


def save_spectrograms(
    path: str | os.PathLike,
    panels: Mapping[str, np.ndarray],
    sample_rate: int,
    *,
    title: str | None = None,
) -> Path:
    """Draw one log-mel panel per ``name -> mono audio`` (same rate), top to bottom, to a PNG.

    Every panel shares the colour scale, so quieter or duller output looks it.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not panels:
        raise ValueError("no audio to draw")
    specs = {name: log_mel(y, sample_rate) for name, y in panels.items()}
    fig = Figure(figsize=(10, 2.2 * len(specs) + 0.4 * bool(title)), layout="constrained")
    FigureCanvasAgg(fig)
    if title:
        fig.suptitle(title, fontsize="medium")
    axes = fig.subplots(len(specs), 1, squeeze=False)[:, 0]
    image = None
    for ax, (name, spec) in zip(axes, specs.items()):
        seconds = spec.shape[1] * HOP / sample_rate
        image = ax.imshow(
            spec, origin="lower", aspect="auto", cmap="magma", vmin=-TOP_DB, vmax=0.0,
            extent=(0.0, seconds, 0, N_MELS), interpolation="nearest",
        )  # fmt: skip
        ax.set_ylabel("mel bin")
        ax.set_title(name, fontsize="small", loc="left")
    axes[-1].set_xlabel("seconds")
    fig.colorbar(image, ax=list(axes), label="dB", shrink=0.8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    return Path(path)
