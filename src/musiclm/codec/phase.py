"""Phase recovery from STFT magnitudes: fast Griffin-Lim, batched in torch.

A magnitude-domain codec (:mod:`musiclm.codec.spectral`) decodes to ``|X|`` only; the
waveform needs a phase. Griffin-Lim (Griffin & Lim 1984) alternates between the set of
STFTs with the wanted magnitude and the set of consistent STFTs (those of some signal);
the fast variant (Perraudin, Balazs & Søndergaard 2013, "A fast Griffin-Lim algorithm")
adds a momentum step that converges in far fewer iterations. Everything is batched:
one call inverts a whole batch of clips at once, on any device.

The starting phase matters as much as the iteration count: :func:`peak_phase` gives each
bin the phase a stationary sinusoid at its nearest spectral peak would have (the peak's
frequency by quadratic interpolation of the log magnitude, integrated over frames — the
idea of phase-locked vocoders, Laroche & Dolson 1999). Measured on held-out engine clips
(n_fft 2048, hop 480; docs/codec.md), chroma correlation after 0 / 8 / 16 / 32
iterations: 0.94 / 0.98 / 0.99 / 0.995 from :func:`peak_phase`, 0.31 / 0.84 / 0.92 / 0.99
from zero phase.

Why not a learned phase: without a GAN our codec learned none (docs/codec.md), while
Griffin-Lim on an unquantised magnitude keeps the notes (frame-wise chroma correlation
0.99 on an engine clip) at a cost we measured in benchmarks/codec_quality.py.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

INITS = ("peaks", "zero")


def stft(audio: Tensor, n_fft: int, hop: int, window: Tensor) -> Tensor:
    """``(B, T)`` -> complex ``(B, n_fft // 2 + 1, T // hop + 1)``, centred, zero padded."""
    return torch.stft(
        audio, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True
    )


def istft(spec: Tensor, n_fft: int, hop: int, window: Tensor, length: int) -> Tensor:
    """The inverse of :func:`stft` (least-squares overlap-add), ``length`` samples."""
    return torch.istft(spec, n_fft, hop, window=window, center=True, length=length)


def griffin_lim(
    magnitude: Tensor,
    *,
    n_fft: int,
    hop: int,
    length: int,
    iters: int = 32,
    momentum: float = 0.99,
    window: Tensor | None = None,
    init: str = "peaks",
) -> Tensor:
    """Audio whose STFT magnitude is close to ``magnitude``.

    Args:
        magnitude: ``(B, n_fft // 2 + 1, frames)`` non-negative, frames = ``length // hop + 1``
            (the layout of :func:`stft`).
        iters: projections; 0 returns the zero-phase inverse.
        momentum: the fast Griffin-Lim acceleration (0 = classic Griffin-Lim; Perraudin et
            al. recommend 0.99).
        window: the analysis/synthesis window (Hann of ``n_fft`` by default).
        init: the starting phase: ``"peaks"`` (:func:`peak_phase`) or ``"zero"``.
    Returns:
        ``(B, length)`` float32 audio. Deterministic: no random initial phase.
    """
    if magnitude.ndim != 3 or magnitude.shape[1] != n_fft // 2 + 1:
        raise ValueError(
            f"magnitude must be (batch, {n_fft // 2 + 1}, frames), got {tuple(magnitude.shape)}"
        )
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    with torch.autocast(magnitude.device.type, enabled=False):
        mag = magnitude.float()
        if window is None:
            window = torch.hann_window(n_fft, device=mag.device)
        window = window.float()
        if init == "peaks":
            angles = peak_phase(mag, n_fft=n_fft, hop=hop)
        else:
            angles = torch.ones_like(mag, dtype=torch.complex64)
        prev = torch.zeros_like(angles)
        for _ in range(iters):
            rebuilt = stft(istft(mag * angles, n_fft, hop, window, length), n_fft, hop, window)
            accel = rebuilt - (momentum / (1.0 + momentum)) * prev if momentum else rebuilt
            angles = accel / accel.abs().clamp_min(1e-8)
            prev = rebuilt
        return istft(mag * angles, n_fft, hop, window, length)


def peak_phase(magnitude: Tensor, *, n_fft: int, hop: int) -> Tensor:
    """Unit complex numbers ``(B, bins, frames)``: a starting phase for :func:`griffin_lim`.

    Each bin takes the frequency of its nearest local maximum along frequency (refined by
    quadratic interpolation of the log magnitude), the phase advances by ``hop`` times
    that frequency from frame to frame (trapezoid rule), and bin ``k`` gets the ``-pi k``
    of a Hann window centred in an ``n_fft`` frame (:func:`stft`'s layout).
    """
    mag = magnitude.float()
    _, bins, _ = mag.shape
    log_mag = mag.clamp_min(1e-6).log()
    left, mid, right = log_mag[:, :-2], log_mag[:, 1:-1], log_mag[:, 2:]
    is_peak = torch.zeros_like(mag, dtype=torch.bool)
    is_peak[:, 1:-1] = (mid > left) & (mid >= right)
    curve = left - 2 * mid + right
    safe = torch.where(curve.abs() > 1e-9, curve, torch.ones_like(curve))
    offset = torch.where(curve.abs() > 1e-9, 0.5 * (left - right) / safe, torch.zeros_like(curve))
    k = torch.arange(bins, device=mag.device, dtype=mag.dtype)[None, :, None]
    peak_bin = k.expand_as(mag).clone()
    peak_bin[:, 1:-1] += offset.clamp(-0.5, 0.5)
    # the nearest peak of every bin: the last peak at or below it, the first at or above it
    idx = torch.arange(bins, device=mag.device)[None, :, None].expand_as(mag)
    far = bins * 4
    below = torch.where(is_peak, idx, torch.full_like(idx, -far)).cummax(1).values
    above = torch.where(is_peak, idx, torch.full_like(idx, far)).flip(1).cummin(1).values.flip(1)
    nearest = torch.where(idx - below <= above - idx, below, above)
    found = (nearest >= 0) & (nearest < bins)
    freq = torch.where(found, peak_bin.gather(1, nearest.clamp(0, bins - 1)), peak_bin)
    omega = (2 * math.pi / n_fft) * freq  # radians per sample
    step = hop * 0.5 * (omega[..., 1:] + omega[..., :-1])
    phase = torch.cat([torch.zeros_like(omega[..., :1]), step.cumsum(-1)], dim=-1) - math.pi * k
    return torch.polar(torch.ones_like(mag), phase)
