"""Multi-scale complex STFT discriminator and the hinge/feature-matching losses.

The discriminator judges the real and imaginary parts of the STFT, so unlike magnitude
losses it sees phase (SoundStream arXiv 2107.03312 §3.4 uses one STFT discriminator;
EnCodec arXiv 2210.13438 §3.4 several resolutions). Each sub-discriminator is a small
2-D conv net over (time, frequency) with dilations growing in time and stride 2 in
frequency; its intermediate activations feed the feature-matching loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm


@dataclass
class DiscriminatorOutput:
    """One entry per STFT resolution."""

    logits: list[Tensor]  # (B, 1, frames, freq') each
    features: list[list[Tensor]]  # activations of every layer but the last, per resolution


class STFTDiscriminator(nn.Module):
    """One resolution.

    Args:
        n_fft: FFT size (Hann window of the same size); hop ``n_fft // 4``.
        channels: conv channels.
        dilations: time dilations of the strided middle layers (each halves frequency).
    """

    def __init__(
        self, n_fft: int, *, channels: int = 32, dilations: Sequence[int] = (1, 2, 4)
    ) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, n_fft // 4
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        k = (3, 9)  # (time, frequency)
        layers = [weight_norm(nn.Conv2d(2, channels, k, padding=(1, 4)))]
        for d in dilations:
            layers.append(
                weight_norm(
                    nn.Conv2d(channels, channels, k, stride=(1, 2), dilation=(d, 1), padding=(d, 4))
                )
            )
        layers.append(weight_norm(nn.Conv2d(channels, channels, 3, padding=1)))
        self.convs = nn.ModuleList(layers)
        self.out = weight_norm(nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Args: x (B, T) audio. Returns (logits (B, 1, frames, freq'), features)."""
        spec = torch.stft(
            x.float(),
            self.n_fft,
            self.hop,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )  # (B, F, frames)
        h = torch.view_as_real(spec).permute(0, 3, 2, 1)  # (B, 2 [re, im], frames, F)
        feats = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
            feats.append(h)
        return self.out(h), feats


class MultiScaleSTFTDiscriminator(nn.Module):
    """Several :class:`STFTDiscriminator` at different FFT sizes.

    Args:
        fft_sizes: one sub-discriminator per size (EnCodec uses 2048, 1024, 512 at 24 kHz
            among others; three keep it affordable on a CPU).
        channels: conv channels of every sub-discriminator (default 32, EnCodec's width).
    """

    def __init__(self, fft_sizes: Sequence[int] = (2048, 1024, 512), *, channels: int = 32) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            STFTDiscriminator(n, channels=channels) for n in fft_sizes
        )

    def forward(self, x: Tensor) -> DiscriminatorOutput:
        """Args: x (B, T) or (B, 1, T) audio."""
        if x.ndim == 3:
            if x.shape[1] != 1:
                raise ValueError(f"expected mono audio (B, 1, T), got {tuple(x.shape)}")
            x = x[:, 0]
        if x.ndim != 2:
            raise ValueError(f"expected (B, T) or (B, 1, T) audio, got {tuple(x.shape)}")
        logits, features = [], []
        for d in self.discriminators:
            logit, feats = d(x)
            logits.append(logit)
            features.append(feats)
        return DiscriminatorOutput(logits=logits, features=features)


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's period sub-discriminator (arXiv 2010.05646 §2.2): the waveform folded
    into rows of ``period`` samples, judged by 2-D convs that never mix columns, so it
    sees the periodic structure of pitched sound that an STFT discriminator blurs.
    Narrower than HiFi-GAN's (16…128 channels, not 32…1024) to stay affordable on a CPU."""

    def __init__(self, period: int, channels: Sequence[int] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.period = period
        layers, cin = [], 1
        for c in channels:
            layers.append(weight_norm(nn.Conv2d(cin, c, (5, 1), stride=(3, 1), padding=(2, 0))))
            cin = c
        layers.append(weight_norm(nn.Conv2d(cin, cin, (5, 1), padding=(2, 0))))
        self.convs = nn.ModuleList(layers)
        self.out = weight_norm(nn.Conv2d(cin, 1, (3, 1), padding=(1, 0)))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Args: x (B, T) audio. Returns (logits (B, 1, rows', period), features)."""
        pad = -x.shape[-1] % self.period
        h = F.pad(x.float(), (0, pad), mode="reflect" if pad < x.shape[-1] else "constant")
        h = h.view(x.shape[0], 1, -1, self.period)
        feats = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.1)
            feats.append(h)
        return self.out(h), feats


class VocoderDiscriminator(nn.Module):
    """Multi-period (HiFi-GAN, periods 2, 3, 5, 7, 11) and multi-resolution STFT
    (:class:`STFTDiscriminator`, as for the codec) sub-discriminators, judged together."""

    def __init__(
        self,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        fft_sizes: Sequence[int] = (2048, 1024, 512),
        *,
        channels: int = 16,
    ) -> None:
        super().__init__()
        self.periods = nn.ModuleList(PeriodDiscriminator(p) for p in periods)
        # 16 channels, half the codec's: a quarter of the cost on this CPU
        self.stfts = MultiScaleSTFTDiscriminator(fft_sizes, channels=channels)

    def forward(self, x: Tensor) -> DiscriminatorOutput:
        """Args: x (B, T) audio."""
        out = self.stfts(x)
        for d in self.periods:
            logit, feats = d(x)
            out.logits.append(logit)
            out.features.append(feats)
        return out


def discriminator_loss(real_logits: Sequence[Tensor], fake_logits: Sequence[Tensor]) -> Tensor:
    """Hinge loss for the discriminator, averaged over sub-discriminators.

    Pass the fake logits of *detached* generator output.
    """
    if len(real_logits) != len(fake_logits) or not real_logits:
        raise ValueError("need the same, non-zero number of real and fake logits")
    loss = sum(
        F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real_logits, fake_logits)
    )
    return loss / len(real_logits)


def generator_adversarial_loss(fake_logits: Sequence[Tensor]) -> Tensor:
    """Hinge loss for the generator, averaged over sub-discriminators."""
    if not fake_logits:
        raise ValueError("need at least one logit tensor")
    return sum(F.relu(1 - f).mean() for f in fake_logits) / len(fake_logits)


def feature_matching_loss(
    real_feats: Sequence[Sequence[Tensor]], fake_feats: Sequence[Sequence[Tensor]]
) -> Tensor:
    """L1 between real and fake activations, each layer divided by its mean |real| (so
    every layer counts alike whatever its scale), averaged over layers and
    sub-discriminators. Real features are detached."""
    if len(real_feats) != len(fake_feats) or not real_feats:
        raise ValueError("need the same, non-zero number of real and fake feature lists")
    total, count = None, 0
    for rs, fs in zip(real_feats, fake_feats):
        if len(rs) != len(fs):
            raise ValueError("real and fake feature lists differ in length")
        for r, f in zip(rs, fs):
            r = r.detach()
            term = F.l1_loss(f, r) / r.abs().mean().clamp_min(1e-8)
            total = term if total is None else total + term
            count += 1
    return total / count
