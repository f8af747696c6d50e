"""Reconstruction losses for codec training and the metrics that judge codecs.

The training losses (:class:`MultiResolutionSTFTLoss`, :class:`MelLoss`) and the benchmark
metrics (:func:`si_snr`, :func:`mel_distance`, ... ) share their spectral code, so the codec
benchmark and the Opus baseline are measured with exactly what the codec was trained on.

Loss modules follow torch's ``loss(input, target)`` order: ``(est, ref)``. Metric functions
take ``(ref, est)`` 1-D audio (numpy or torch) and return Python floats.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

MR_FFT_SIZES = (2048, 1024, 512, 256, 128)
_MAG_FLOOR = 1e-5  # magnitudes below this are clamped before the log (-100 dB)


def _as_batch(x: Tensor) -> Tensor:
    """(T,), (B, T) or (B, C, T) -> (B*C, T) float32."""
    if x.ndim == 1:
        x = x[None]
    return x.reshape(-1, x.shape[-1]).float()


def _stft(x: Tensor, n_fft: int, hop: int, window: Tensor) -> Tensor:
    """(N, T) -> (N, n_fft//2 + 1, frames) complex. Zero padding at the edges, so any
    length works, also shorter than the window."""
    return torch.stft(
        x, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True
    )


def _magnitude(spec: Tensor) -> Tensor:
    # sqrt with a floor inside: |S| has an infinite gradient at 0.
    return (spec.real.pow(2) + spec.imag.pow(2)).clamp_min(_MAG_FLOOR**2).sqrt()


@dataclass
class STFTLossOutput:
    """Terms of :class:`MultiResolutionSTFTLoss`, each averaged over resolutions.

    Readable like a dict (``out["total"]``) for logging loops.
    """

    sc: Tensor  # spectral convergence ||R| - |E||_F / ||R||_F
    mag: Tensor  # L1 of log magnitudes
    complex: Tensor  # L1 of real and imaginary parts of the compressed complex STFT
    total: Tensor  # sc_weight * sc + mag_weight * mag + complex_weight * complex

    def __getitem__(self, key: str) -> Tensor:
        return getattr(self, key)

    def items(self) -> list[tuple[str, Tensor]]:
        return [(k, self[k]) for k in ("sc", "mag", "complex", "total")]


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1 at several resolutions (Yamamoto et al.,
    Parallel WaveGAN, arXiv 1910.11480 §2.3), with an optional phase-aware term.

    Magnitude losses say nothing about phase; without an adversarial loss a codec then
    learns none. ``complex_weight`` > 0 adds an L1 on the real and imaginary parts of the
    power-law compressed complex STFT ``|S|^c e^{i angle S}`` (c = ``compress``), which does.

    Args:
        fft_sizes: FFT sizes; hop is ``n_fft // hop_divisor``, window a Hann of ``n_fft``.
        sc_weight, mag_weight, complex_weight: weights of the three terms in ``total``.
        compress: the power c of the compressed complex STFT.
    """

    def __init__(
        self,
        fft_sizes: Sequence[int] = MR_FFT_SIZES,
        *,
        hop_divisor: int = 4,
        sc_weight: float = 1.0,
        mag_weight: float = 1.0,
        complex_weight: float = 0.0,
        compress: float = 0.3,
    ) -> None:
        super().__init__()
        if not fft_sizes:
            raise ValueError("need at least one FFT size")
        self.fft_sizes = tuple(int(n) for n in fft_sizes)
        self.hop_divisor = hop_divisor
        self.sc_weight, self.mag_weight = sc_weight, mag_weight
        self.complex_weight, self.compress = complex_weight, compress
        for n in self.fft_sizes:
            self.register_buffer(f"window_{n}", torch.hann_window(n), persistent=False)

    def forward(self, est: Tensor, ref: Tensor) -> STFTLossOutput:
        """Args: est, ref: (T,), (B, T) or (B, C, T) audio of the same shape."""
        if est.shape != ref.shape:
            raise ValueError(f"shapes differ: est {tuple(est.shape)}, ref {tuple(ref.shape)}")
        est, ref = _as_batch(est), _as_batch(ref)
        sc = mag = cplx = est.new_zeros(())
        for n in self.fft_sizes:
            window = getattr(self, f"window_{n}")
            s_est = _stft(est, n, max(1, n // self.hop_divisor), window)
            s_ref = _stft(ref, n, max(1, n // self.hop_divisor), window)
            m_est, m_ref = _magnitude(s_est), _magnitude(s_ref)
            # over the whole batch, not per example: a near-silent crop (an intro, a
            # ring-out tail) has a tiny |R| and made per-example SC explode (seen: 60+)
            num = torch.linalg.vector_norm(m_ref - m_est)
            den = torch.linalg.vector_norm(m_ref).clamp_min(1e-7)
            sc = sc + num / den
            mag = mag + F.l1_loss(m_est.log(), m_ref.log())
            if self.complex_weight:
                c_est = s_est * (m_est.pow(self.compress - 1.0))
                c_ref = s_ref * (m_ref.pow(self.compress - 1.0))
                cplx = cplx + F.l1_loss(torch.view_as_real(c_est), torch.view_as_real(c_ref))
        k = len(self.fft_sizes)
        sc, mag, cplx = sc / k, mag / k, cplx / k
        total = self.sc_weight * sc + self.mag_weight * mag + self.complex_weight * cplx
        return STFTLossOutput(sc=sc, mag=mag, complex=cplx, total=total)


@functools.lru_cache(maxsize=32)
def _mel_filters(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None
) -> np.ndarray:
    import librosa  # imported here: librosa is slow to import and only needed once

    return librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax
    ).astype(np.float32)  # (n_mels, n_fft//2 + 1)


class MelLoss(nn.Module):
    """L1 between log10 mel magnitude spectrograms, averaged over scales.

    One scale by default (``n_ffts=(1024,)``, 80 mels); pass several FFT sizes and matching
    mel counts (e.g. ``(2048, 1024, 512)``, ``(128, 80, 40)``) for a multi-scale loss.

    Args:
        sample_rate: audio sample rate (mel filters depend on it).
        n_ffts: FFT (and Hann window) sizes; hop is ``n_fft // hop_divisor``.
        n_mels: mel bands, one count for every scale or one per scale.
        fmin, fmax: mel filter range (fmax None: Nyquist).
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        n_ffts: Sequence[int] = (1024,),
        n_mels: int | Sequence[int] = 80,
        hop_divisor: int = 4,
        fmin: float = 0.0,
        fmax: float | None = None,
    ) -> None:
        super().__init__()
        self.sample_rate = int(sample_rate)
        self.n_ffts = tuple(int(n) for n in n_ffts)
        mels = [int(n_mels)] * len(self.n_ffts) if isinstance(n_mels, int) else list(n_mels)
        if not self.n_ffts or len(mels) != len(self.n_ffts):
            raise ValueError("need one mel count per FFT size")
        self.n_mels = tuple(mels)
        self.hop_divisor = hop_divisor
        for n, m in zip(self.n_ffts, self.n_mels):
            fb = torch.from_numpy(_mel_filters(self.sample_rate, n, m, float(fmin), fmax))
            self.register_buffer(f"mel_{n}", fb, persistent=False)
            self.register_buffer(f"window_{n}", torch.hann_window(n), persistent=False)

    def log_mel(self, x: Tensor, n_fft: int) -> Tensor:
        """(N, T) -> (N, n_mels, frames) log10 mel magnitudes at one of the scales."""
        spec = _stft(x, n_fft, max(1, n_fft // self.hop_divisor), getattr(self, f"window_{n_fft}"))
        mel = torch.matmul(getattr(self, f"mel_{n_fft}"), _magnitude(spec))
        return mel.clamp_min(_MAG_FLOOR).log10()

    def forward(self, est: Tensor, ref: Tensor) -> Tensor:
        """Args: est, ref: (T,), (B, T) or (B, C, T) audio of the same shape. Returns a scalar."""
        if est.shape != ref.shape:
            raise ValueError(f"shapes differ: est {tuple(est.shape)}, ref {tuple(ref.shape)}")
        est, ref = _as_batch(est), _as_batch(ref)
        loss = est.new_zeros(())
        for n in self.n_ffts:
            loss = loss + F.l1_loss(self.log_mel(est, n), self.log_mel(ref, n))
        return loss / len(self.n_ffts)


# --- metrics: 1-D audio in, float out ------------------------------------------------------


def _pair(ref, est) -> tuple[Tensor, Tensor]:
    """Two signals as float64 1-D tensors of equal length (ValueError otherwise)."""
    r = torch.as_tensor(np.asarray(ref) if not isinstance(ref, Tensor) else ref.detach().cpu())
    e = torch.as_tensor(np.asarray(est) if not isinstance(est, Tensor) else est.detach().cpu())
    r, e = r.squeeze().double(), e.squeeze().double()
    if r.ndim != 1 or e.ndim != 1:
        raise ValueError(f"expected 1-D audio, got shapes {tuple(r.shape)} and {tuple(e.shape)}")
    if len(r) != len(e):
        raise ValueError(f"lengths differ ({len(r)} vs {len(e)}): trim the decoded audio first")
    return r, e


def si_snr(ref, est, *, eps: float = 1e-12) -> float:
    """Scale-invariant SNR in dB (Le Roux et al., arXiv 1811.02508): the error is what
    remains after projecting ``est`` on ``ref``, so any gain (or sign) on ``est`` is free."""
    r, e = _pair(ref, est)
    r, e = r - r.mean(), e - e.mean()
    target = (torch.dot(e, r) / (torch.dot(r, r) + eps)) * r
    noise = e - target
    return float(10 * torch.log10((target.pow(2).sum() + eps) / (noise.pow(2).sum() + eps)))


def mel_distance(ref, est, sr: int, *, n_fft: int = 1024, n_mels: int = 80) -> float:
    """Mean absolute difference of log10 mel magnitudes (the :class:`MelLoss` value)."""
    r, e = _pair(ref, est)
    return float(MelLoss(sr, n_ffts=(n_fft,), n_mels=n_mels)(e.float(), r.float()))


def mr_stft_distance(ref, est, *, fft_sizes: Sequence[int] = MR_FFT_SIZES) -> float:
    """Multi-resolution STFT distance: spectral convergence + log-magnitude L1."""
    r, e = _pair(ref, est)
    return float(MultiResolutionSTFTLoss(fft_sizes)(e.float(), r.float()).total)


def spectral_convergence(ref, est, *, fft_sizes: Sequence[int] = MR_FFT_SIZES) -> float:
    """||R| - |E||_F / ||R||_F averaged over the resolutions (0 = identical magnitudes)."""
    r, e = _pair(ref, est)
    return float(MultiResolutionSTFTLoss(fft_sizes)(e.float(), r.float()).sc)


def chroma_similarity(ref, est, sr: int) -> float:
    """Cosine of librosa chroma vectors (``chroma_stft``) averaged over frames: does the
    decoded audio keep the harmony? Frames silent in both count as equal, in one as 0."""
    import librosa

    r, e = _pair(ref, est)
    cr = librosa.feature.chroma_stft(y=r.numpy().astype(np.float32), sr=sr)  # (12, frames)
    ce = librosa.feature.chroma_stft(y=e.numpy().astype(np.float32), sr=sr)
    nr, ne = np.linalg.norm(cr, axis=0), np.linalg.norm(ce, axis=0)
    cos = (cr * ce).sum(0) / np.maximum(nr * ne, 1e-12)
    cos = np.where((nr < 1e-8) & (ne < 1e-8), 1.0, cos)
    return float(np.mean(cos))


def onset_correlation(ref, est, sr: int) -> float:
    """Pearson correlation of librosa onset-strength envelopes: does the decoded audio keep
    the rhythm? Constant envelopes: 1.0 if equal, else 0.0."""
    import librosa

    r, e = _pair(ref, est)
    orr = librosa.onset.onset_strength(y=r.numpy().astype(np.float32), sr=sr)
    oe = librosa.onset.onset_strength(y=e.numpy().astype(np.float32), sr=sr)
    if orr.std() < 1e-12 or oe.std() < 1e-12:
        return 1.0 if np.allclose(orr, oe) else 0.0
    return float(np.corrcoef(orr, oe)[0, 1])


def chroma_frame_correlation(ref, est, sr: int, *, gate: float = 0.1, hop: int = 512) -> float:
    """Frame-wise CQT-chroma correlation: does the decoded audio play the same notes at the
    same time? Mean over the frames where ``ref``'s RMS is at least ``gate`` x its peak of
    the Pearson correlation of the two 12-bin chroma vectors (1 = same pitch classes in
    every loud frame, ~0 for noise or an unrelated clip). Unlike :func:`chroma_similarity`
    (cosine of non-negative vectors, 0.47 for an unrelated clip), chance is 0."""
    import librosa

    r, e = _pair(ref, est)
    r, e = r.numpy().astype(np.float32), e.numpy().astype(np.float32)
    # librosa's 7 octaves from C1, fewer where they would pass Nyquist (low sample rates)
    octaves = max(1, min(7, int(np.log2(0.45 * sr / librosa.note_to_hz("C1")))))
    cqt = dict(sr=sr, hop_length=hop, n_octaves=octaves)
    cr = librosa.feature.chroma_cqt(y=r, **cqt)  # (12, frames)
    ce = librosa.feature.chroma_cqt(y=e, **cqt)
    rms = librosa.feature.rms(y=r, hop_length=hop)[0]
    n = min(cr.shape[1], ce.shape[1], len(rms))
    cr, ce, rms = cr[:, :n], ce[:, :n], rms[:n]
    if n == 0 or rms.max() <= 0:
        return float("nan")
    loud = rms >= gate * rms.max()
    a = cr[:, loud] - cr[:, loud].mean(0)
    b = ce[:, loud] - ce[:, loud].mean(0)
    denom = np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0)
    corr = np.where(denom > 1e-12, (a * b).sum(0) / np.maximum(denom, 1e-12), 0.0)
    return float(corr.mean())
