"""Figures of whole songs (issue 15's goals), measured on the audio with a form plan:

- **ending**: the last second's level below the piece's median level (or its absolute
  level: below -50 dBFS counts as silent), and the last 5 s against the 20 s before
  (a ring-out, cadence or fade, not a cut);
- **silence**: the longest run below -50 dBFS before the outro (MusicGen's failure is
  a long piece collapsing into silence inside it);
- **form**: mean cosine similarity of section features (mean chroma and mean MFCC,
  each standardised over the piece's frames) between sections the plan repeats (same
  name) against sections that differ; repeats should be the more alike;
- **intro**: the intro's level and onset rate against the body's (quieter or sparser);
- **seams**: spectral flux at the joins of generation windows against the piece's
  median flux (a seam is a jump no other moment has).

Levels are RMS in dBFS over 50 ms frames. Pure numpy/librosa on the waveform, so the
engine's songs (the ceiling) and generated pieces are measured alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FRAME_S = 0.05
SILENT_DB = -50.0  # dBFS: the goal's "below -50 dBFS" and what counts as silence
END_DROP_DB, FADE_DROP_DB = 25.0, 6.0  # the goal's ending thresholds
BODY_EXCLUDE = ("intro", "outro", "tail")


def levels(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """RMS level in dBFS of consecutive :data:`FRAME_S` frames ``(frames,)``."""
    n = max(1, round(FRAME_S * sample_rate))
    k = len(audio) // n
    x = np.asarray(audio[: k * n], np.float64).reshape(k, n)
    return 10 * np.log10(np.mean(x**2, axis=1) + 1e-12)


def level(audio: np.ndarray) -> float:
    """RMS level of a stretch in dBFS (power mean, not a mean of dB)."""
    return float(10 * np.log10(np.mean(np.asarray(audio, np.float64) ** 2) + 1e-12))


@dataclass(frozen=True)
class Ending:
    last_db: float  # the last second's level, dBFS
    below_median_db: float  # the piece's median frame level minus the last second's
    last5_drop_db: float  # the 20 s before the last 5 s, minus the last 5 s

    @property
    def ends(self) -> bool:
        """The goal: the last second >= 25 dB below the median (or < -50 dBFS) and the
        last 5 s >= 6 dB below the 20 s before."""
        quiet = self.below_median_db >= END_DROP_DB or self.last_db < SILENT_DB
        return quiet and self.last5_drop_db >= FADE_DROP_DB


def ending(audio: np.ndarray, sample_rate: int) -> Ending:
    sr = sample_rate
    last = level(audio[-sr:])
    median = float(np.median(levels(audio, sr)))
    before = audio[max(0, len(audio) - 25 * sr) : len(audio) - 5 * sr]
    drop = level(before) - level(audio[-5 * sr :]) if len(before) else 0.0
    return Ending(last, median - last, drop)


def longest_silence(audio: np.ndarray, sample_rate: int, until_s: float | None = None) -> float:
    """Seconds of the longest run of frames below :data:`SILENT_DB` before ``until_s``."""
    lv = levels(audio, sample_rate)
    if until_s is not None:
        lv = lv[: int(until_s / FRAME_S)]
    best = run = 0
    for quiet in lv < SILENT_DB:
        run = run + 1 if quiet else 0
        best = max(best, run)
    return best * FRAME_S


def outro_start(form: Sequence) -> float | None:
    """Where the ending begins: the first outro (or, with none, the tail)."""
    for name in ("outro", "tail"):
        for s in form:
            if s.name == name:
                return float(s.start)
    return None


def section_features(audio: np.ndarray, sample_rate: int, form: Sequence) -> np.ndarray:
    """One vector per section ``(S, 32)``: its mean chroma (12) and mean MFCC (20), each
    frame feature standardised over the whole piece first, so the vectors compare how
    sections differ from the piece's average, not the average itself."""
    import librosa

    y = np.asarray(audio, np.float32)
    hop = 512
    chroma = librosa.feature.chroma_stft(y=y, sr=sample_rate, hop_length=hop)
    mfcc = librosa.feature.mfcc(y=y, sr=sample_rate, n_mfcc=20, hop_length=hop)
    feats = np.concatenate([chroma, mfcc])  # (32, T)
    feats = (feats - feats.mean(1, keepdims=True)) / (feats.std(1, keepdims=True) + 1e-8)
    rate = sample_rate / hop
    out = []
    for s in form:
        a, b = int(s.start * rate), max(int(s.start * rate) + 1, int(s.end * rate))
        out.append(feats[:, a:b].mean(1) if a < feats.shape[1] else np.zeros(len(feats)))
    return np.stack(out)


@dataclass(frozen=True)
class FormFigure:
    same: float | None  # mean cosine of pairs of sections with the same name
    different: float | None  # mean cosine of pairs with different names

    @property
    def audible(self) -> bool | None:
        if self.same is None or self.different is None:
            return None
        return self.same > self.different


def form_similarity(audio: np.ndarray, sample_rate: int, form: Sequence) -> FormFigure:
    """Sections the plan repeats against sections that differ (the tail left out: it is
    the ending, not a section of the body)."""
    secs = [s for s in form if s.name != "tail" and s.end - s.start >= 1.0]
    if len(secs) < 2:
        return FormFigure(None, None)
    f = section_features(audio, sample_rate, secs)
    f = f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-8)
    cos = f @ f.T
    same, diff = [], []
    for i in range(len(secs)):
        for j in range(i + 1, len(secs)):
            (same if secs[i].name == secs[j].name else diff).append(cos[i, j])
    return FormFigure(
        float(np.mean(same)) if same else None, float(np.mean(diff)) if diff else None
    )


@dataclass(frozen=True)
class IntroFigure:
    level_db: float  # intro level minus body level
    onset_ratio: float  # intro onsets per second / body onsets per second

    @property
    def quieter_or_sparser(self) -> bool:
        return self.level_db < 0 or self.onset_ratio < 1


def intro_vs_body(audio: np.ndarray, sample_rate: int, form: Sequence) -> IntroFigure | None:
    """The intro against the body (every section but intro, outro and tail)."""
    import librosa

    intro = [s for s in form if s.name == "intro"]
    body = [s for s in form if s.name not in BODY_EXCLUDE]
    if not intro or not body:
        return None
    sr = sample_rate

    def cut(secs):
        return np.concatenate([audio[int(s.start * sr) : int(s.end * sr)] for s in secs])

    def onset_rate(y):
        on = librosa.onset.onset_detect(y=np.asarray(y, np.float32), sr=sr, units="time")
        return len(on) / max(len(y) / sr, 1e-6)

    a, b = cut(intro), cut(body)
    return IntroFigure(level(a) - level(b), onset_rate(a) / max(onset_rate(b), 1e-6))


def flux(audio: np.ndarray, sample_rate: int, hop_s: float = 0.02) -> np.ndarray:
    """Mean absolute change of the log-mel spectrum from frame to frame ``(T - 1,)``."""
    import librosa

    hop = max(1, round(hop_s * sample_rate))
    m = librosa.feature.melspectrogram(y=np.asarray(audio, np.float32), sr=sample_rate,
                                       n_fft=2048, hop_length=hop, n_mels=64)  # fmt: skip
    return np.abs(np.diff(np.log(m + 1e-5), axis=1)).mean(0)


def seam_ratio(
    audio: np.ndarray, sample_rate: int, joins_s: Sequence[float], span_s: float = 0.1
) -> float | None:
    """Median over ``joins_s`` of the largest flux within ``span_s`` of the join, over the
    median of the same largest-flux-within-``span_s`` at every moment of the piece (1: a
    join is like any moment; silent joins left out)."""
    from scipy.ndimage import maximum_filter1d

    hop_s = 0.02
    d = flux(audio, sample_rate, hop_s)
    near = maximum_filter1d(d, size=2 * round(span_s / hop_s) + 1, mode="nearest")
    lv = levels(audio, sample_rate)
    med = float(np.median(near)) + 1e-8
    out = [
        near[int(t / hop_s)] / med
        for t in joins_s
        if int(t / hop_s) < len(near) and lv[min(int(t / FRAME_S), len(lv) - 1)] >= SILENT_DB
    ]
    return float(np.median(out)) if out else None


__all__ = [
    "Ending", "FormFigure", "IntroFigure", "ending", "form_similarity", "intro_vs_body",
    "levels", "longest_silence", "outro_start", "seam_ratio",
]  # fmt: skip
