"""SEANet encoder/decoder: the conv backbone of SoundStream (Zeghidour et al. 2021,
arXiv 2107.03312) and EnCodec (Défossez et al. 2022, arXiv 2210.13438).

Encoder: conv 7 -> per stride s: [residual units, dilations 1, 3, 9] -> ELU -> strided
conv (kernel 2s, stride s, channels x 2) -> ELU -> LayerNorm over channels -> 1x1 conv to
the latent. The decoder mirrors it with transposed convs. Every conv has weight norm.

Padding is non-causal ("same"): each output frame sees context on both sides. MusicLM
tokenizes whole clips offline, so the codec never needs to stream, and non-causal
convolutions are the better codec for the same size (SoundStream §4 reports a small loss
for causal ones). With input length a multiple of the hop, the encoder gives exactly
``T / hop`` frames and the decoder exactly ``frames * hop`` samples, aligned in time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


class _Conv(nn.Module):
    """Weight-normed Conv1d with "same" padding (stride 1) or exact ``T / stride`` output."""

    def __init__(self, cin: int, cout: int, kernel: int, *, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = weight_norm(nn.Conv1d(cin, cout, kernel, stride=stride, dilation=dilation))
        # Total padding (k-1)*d for stride 1 ("same"); k - s = s for a strided conv
        # (k = 2s), so T -> T / s with the window of frame i centred on input block
        # [i*s, (i+1)*s). Split evenly, the extra sample on the right: non-causal.
        total = (kernel - 1) * dilation if stride == 1 else kernel - stride
        self.pad = (total // 2, total - total // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))


class _ConvTranspose(nn.Module):
    """Weight-normed transposed conv, kernel 2s, stride s: exactly ``T * s`` samples out."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv = weight_norm(nn.ConvTranspose1d(cin, cout, 2 * stride, stride=stride))
        self.trim = (stride // 2, stride - stride // 2)  # mirrors _Conv's strided padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # (B, C, T*s + s)
        return y[..., self.trim[0] : y.shape[-1] - self.trim[1]]


class ResidualUnit(nn.Module):
    """ELU -> conv 3 (dilated, channels / 2) -> ELU -> conv 1 -> + skip."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        hidden = max(1, channels // 2)
        self.block = nn.Sequential(
            nn.ELU(),
            _Conv(channels, hidden, 3, dilation=dilation),
            nn.ELU(),
            _Conv(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class _ChannelNorm(nn.Module):
    """LayerNorm over channels of a (B, C, T) tensor."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


def _units(channels: int, n_units: int) -> list[nn.Module]:
    return [ResidualUnit(channels, 3**i) for i in range(n_units)]


class SEANetEncoder(nn.Module):
    """Waveform ``(B, T)`` -> latent ``(B, latent_dim, T / hop)``; T must be a multiple
    of ``hop = prod(strides)``.

    Args:
        channels: width after the first conv, doubled at each stride.
        n_units: residual units per stage (dilations 1, 3, 9, ...).
    """

    def __init__(self, latent_dim: int, channels: int, strides: tuple[int, ...], n_units: int):
        super().__init__()
        self.hop = 1
        for s in strides:
            self.hop *= s
        layers: list[nn.Module] = [_Conv(1, channels, 7)]
        ch = channels
        for s in strides:
            layers += _units(ch, n_units)
            layers += [nn.ELU(), _Conv(ch, 2 * ch, 2 * s, stride=s)]
            ch *= 2
        # LayerNorm before the latent projection: without it the first RVQ level
        # collapsed in our CPU runs (see musiclm.codec.model.Codec.calibrate).
        layers += [nn.ELU(), _ChannelNorm(ch), _Conv(ch, latent_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.shape[-1] % self.hop:
            raise ValueError(f"length {audio.shape[-1]} is not a multiple of the hop {self.hop}")
        return self.net(audio.unsqueeze(1))  # (B, 1, T) -> (B, D, T / hop)


class SEANetDecoder(nn.Module):
    """Latent ``(B, latent_dim, frames)`` -> waveform ``(B, frames * hop)``."""

    def __init__(self, latent_dim: int, channels: int, strides: tuple[int, ...], n_units: int):
        super().__init__()
        ch = channels * 2 ** len(strides)
        layers: list[nn.Module] = [_Conv(latent_dim, ch, 7)]
        for s in reversed(strides):
            layers += [nn.ELU(), _ConvTranspose(ch, ch // 2, s)]
            ch //= 2
            layers += _units(ch, n_units)
        layers += [nn.ELU(), _Conv(ch, 1, 7)]
        self.net = nn.Sequential(*layers)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.net(latent).squeeze(1)  # (B, 1, frames * hop) -> (B, frames * hop)
