"""A frame-rate codec backbone in the style of Vocos (Siuzdak 2023, arXiv 2306.00814).

Everything runs at the frame rate: the encoder takes an STFT whose hop is one codec frame,
the decoder predicts an STFT frame per code vector and inverts it with ``torch.istft``.
There is no upsampling stack, which is why it trains ~3x faster per step and decodes ~5x
faster than SEANet on our 2-core CPU (numbers in :mod:`musiclm.codec.config`).

Time alignment: both sides use ``center=True``, so frame ``i`` is centred on sample
``i * hop``. For input of ``T = frames * hop`` samples the STFT has ``frames + 1``
frames; the last one (centred on ``T``, past the end) is dropped, and the decoder's
``frames`` frames invert to exactly ``frames * hop`` samples, frame ``i`` again at
``i * hop``. :meth:`FrameDecoder.synthesize` applied to :meth:`FrameEncoder.features`
returns the input, which the tests check.
"""

from __future__ import annotations

import math

import torch
from torch import nn

_EPS = 1e-5  # floor of |X| before the log: -115 dB, below 16-bit quantisation noise


class ConvNeXtBlock(nn.Module):
    """Depthwise conv 7 -> LayerNorm -> Linear (x ratio) -> GELU -> Linear -> layer scale,
    plus the skip (Liu et al. 2022; as used by Vocos). Shape ``(B, C, T)`` kept."""

    def __init__(self, dim: int, mlp_ratio: int, layer_scale: float):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim)
        )
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).transpose(1, 2)  # (B, T, C)
        y = self.gamma * self.mlp(self.norm(y))
        return x + y.transpose(1, 2)


class _Backbone(nn.Module):
    """Conv in -> LayerNorm -> ConvNeXt blocks -> LayerNorm: ``(B, cin, T) -> (B, T, dim)``."""

    def __init__(self, cin: int, dim: int, n_blocks: int, mlp_ratio: int, kernel: int):
        super().__init__()
        self.embed = nn.Conv1d(cin, dim, kernel, padding=kernel // 2)
        self.norm_in = nn.LayerNorm(dim)
        # layer scale 1/n_blocks keeps the residual stream near the embedding at start (Vocos)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(dim, mlp_ratio, 1.0 / n_blocks) for _ in range(n_blocks)
        )
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm_in(self.embed(x).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        return self.norm_out(x.transpose(1, 2))  # (B, T, dim)


class FrameEncoder(nn.Module):
    """Waveform ``(B, T)`` -> latent ``(B, latent_dim, T / hop)``; T a multiple of ``hop``.

    Features per frame: ``log |X|`` and, with ``phase_features``, ``cos`` and ``sin`` of the
    phase (``n_fft // 2 + 1`` bins each).
    """

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        n_blocks: int,
        *,
        n_fft: int,
        hop_length: int,
        mlp_ratio: int = 3,
        phase_features: bool = True,
    ):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop_length
        self.phase_features = phase_features
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        bins = n_fft // 2 + 1
        # kernel 1 on the ~3k-wide STFT features: a kernel of 7 there (as Vocos has on its
        # 100 mel bins) would hold two thirds of the tiny model's weights; each frame
        # already sees 4 hops of audio, and the ConvNeXt blocks add temporal context.
        cin = bins * (3 if phase_features else 1)
        self.backbone = _Backbone(cin, channels, n_blocks, mlp_ratio, kernel=1)
        # the backbone ends in a LayerNorm: the latent projection sees normalised features
        self.proj = nn.Linear(channels, latent_dim)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` -> ``(B, bins * (3 or 1), T / hop)``: log-magnitude [, cos, sin]."""
        if audio.shape[-1] % self.hop:
            raise ValueError(f"length {audio.shape[-1]} is not a multiple of the hop {self.hop}")
        audio = audio.float()
        # constant (zero) padding: reflect padding fails on inputs shorter than n_fft / 2
        spec = torch.stft(
            audio, self.n_fft, self.hop, window=self.window.float(), center=True,
            pad_mode="constant", return_complex=True,
        )[..., :-1]  # (B, bins, frames + 1) -> drop the frame centred past the end  # fmt: skip
        mag = spec.abs().clamp(min=_EPS)
        feats = [mag.log()]
        if self.phase_features:
            unit = spec / mag
            feats += [unit.real, unit.imag]
        return torch.cat(feats, dim=1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = self.backbone(self.features(audio))  # (B, frames, channels)
        return self.proj(x).transpose(1, 2)  # (B, latent_dim, frames)


class FrameDecoder(nn.Module):
    """Latent ``(B, latent_dim, frames)`` -> waveform ``(B, frames * hop)``.

    The head predicts, per bin, ``log |X|`` and two numbers ``(a, b)`` whose angle
    ``atan2(b, a)`` is the phase; it is used as ``(a + ib) / |a + ib|``, the same angle
    without atan2's wrap-around in the gradient.
    """

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        n_blocks: int,
        *,
        n_fft: int,
        hop_length: int,
        mlp_ratio: int = 3,
    ):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.backbone = _Backbone(latent_dim, channels, n_blocks, mlp_ratio, kernel=7)
        self.head = nn.Linear(channels, 3 * (n_fft // 2 + 1))
        # |X| of a full-scale sine is n_fft / 4 with a hann window: cap the magnitude at
        # n_fft so an untrained or diverging head cannot overflow exp().
        self.max_log_mag = math.log(n_fft)

    def synthesize(self, spec: torch.Tensor) -> torch.Tensor:
        """``(B, 3 * bins, frames)`` of log |X|, a, b -> waveform ``(B, frames * hop)``."""
        # fp32 and no autocast: there is no bf16 complex dtype, and phase needs the precision
        with torch.autocast(spec.device.type, enabled=False):
            return self._synthesize(spec.float())

    def _synthesize(self, spec: torch.Tensor) -> torch.Tensor:
        log_mag, a, b = spec.chunk(3, dim=1)
        mag = log_mag.clamp(max=self.max_log_mag).exp()
        norm = torch.sqrt(a.square() + b.square() + 1e-9)
        stft = torch.complex(mag * a / norm, mag * b / norm)  # (B, bins, frames)
        return torch.istft(
            stft, self.n_fft, self.hop, window=self.window.float(), center=True,
            length=spec.shape[-1] * self.hop,
        )  # fmt: skip

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        x = self.head(self.backbone(latent))  # (B, frames, 3 * bins)
        return self.synthesize(x.transpose(1, 2))
