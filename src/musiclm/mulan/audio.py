"""MuLan's audio tower: log-mel -> conv stem (mel x time patches) -> Transformer -> pooling.

MuLan's audio towers were a ResNet-50 and an Audio Spectrogram Transformer on log-mel
input (arXiv 2208.12415 §3). Ours joins the two ideas at CPU size: stride-2 3x3 convs cut
(mels, frames) into patches (8x in time: 80 ms tokens at a 10 ms hop), a small pre-LN
Transformer mixes them, and a masked mean gives one vector per window. Windows shorter
than ``window_seconds`` are zero-padded and their padded tokens masked out.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from musiclm.mulan.config import MuLanConfig


def _mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> Tensor:
    import librosa  # slow to import; needed once per model

    fb = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0.0)
    return torch.from_numpy(fb.astype(np.float32))  # (n_mels, n_fft // 2 + 1)


class LogMel(nn.Module):
    """(B, T) audio -> (B, n_mels, 1 + T // hop) log-mel power, scaled as Whisper does:
    log10, floored 8 decades under each clip's peak, then (x + 4) / 4 (about [-1, 1]).
    The relative floor keeps silence finite and makes the scale independent of gain."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("fb", _mel_filters(sample_rate, n_fft, n_mels), persistent=False)

    def forward(self, audio: Tensor) -> Tensor:
        # fp32 always: under bf16 autocast the mel matmul would lose the quiet bands
        with torch.autocast(device_type=audio.device.type, enabled=False):
            spec = torch.stft(
                audio.float(),
                self.n_fft,
                self.hop_length,
                window=self.window,
                center=True,
                return_complex=True,
            )
            power = spec.abs().pow(2)  # (B, F, frames)
            mel = torch.matmul(self.fb, power).clamp_min(1e-10).log10()  # (B, n_mels, frames)
            peak = mel.amax(dim=(1, 2), keepdim=True)
            return (torch.maximum(mel, peak - 8.0) + 4.0) / 4.0


def sinusoids(length: int, width: int, device: torch.device) -> Tensor:
    """(length, width) sinusoidal position codes (Vaswani et al. 2017)."""
    half = width // 2
    scale = torch.exp(-math.log(10000.0) * torch.arange(half, device=device) / max(1, half - 1))
    angle = torch.arange(length, device=device)[:, None] * scale[None]  # (length, half)
    out = torch.cat([angle.sin(), angle.cos()], dim=1)
    return nn.functional.pad(out, (0, width - out.shape[1]))


class AudioTower(nn.Module):
    """Mono windows at ``config.sample_rate`` -> unnormalised embeddings (B, embed_dim)."""

    def __init__(self, config: MuLanConfig) -> None:
        super().__init__()
        c = self.config = config
        self.mel = LogMel(c.sample_rate, c.n_fft, c.hop_length, c.n_mels)
        convs, cin, freq = [], 1, c.n_mels
        for ch in c.conv_channels:
            convs += [nn.Conv2d(cin, ch, 3, stride=2, padding=1), nn.GELU()]
            cin, freq = ch, (freq + 1) // 2
        self.stem = nn.Sequential(*convs)
        self.patch = nn.Linear(cin * freq, c.audio_width)  # (channels x mel rows) -> token
        layer = nn.TransformerEncoderLayer(
            c.audio_width,
            c.audio_heads,
            c.mlp_ratio * c.audio_width,
            dropout=c.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.transformer = nn.TransformerEncoder(layer, c.audio_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.audio_width)
        self.proj = nn.Linear(c.audio_width, c.embed_dim)

    def tokens_for(self, samples: Tensor) -> Tensor:
        """Tokens that carry signal for clips of ``samples`` (B,) valid samples (>= 1)."""
        n = 1 + samples // self.config.hop_length  # STFT frames (center=True)
        for _ in self.config.conv_channels:
            n = (n + 1) // 2  # each stride-2 conv with padding 1: ceil(n / 2)
        return n.clamp_min(1)

    def _spec_augment(self, mel: Tensor) -> Tensor:
        """Zero one random frequency band and one random time span per example
        (SpecAugment, Park et al. 2019); the scaled log-mel's 0 is a mid level."""
        c = self.config
        b, f, t = mel.shape
        for size, width, dim in ((f, c.freq_mask, 1), (t, c.time_mask, 2)):
            if width == 0:
                continue
            w = torch.randint(0, min(width, size) + 1, (b, 1), device=mel.device)
            start = (torch.rand(b, 1, device=mel.device) * (size - w + 1)).long()
            pos = torch.arange(size, device=mel.device)[None]
            hit = (pos >= start) & (pos < start + w)  # (B, size)
            mel = mel.masked_fill(hit[:, :, None] if dim == 1 else hit[:, None, :], 0.0)
        return mel

    def forward(self, audio: Tensor, samples: Tensor | None = None) -> Tensor:
        """Embed windows.

        Args:
            audio: (B, T) mono at ``sample_rate``; normally ``T == window_samples``.
            samples: (B,) valid samples of each row (the rest is zero padding), or None
                when every row is full.
        Returns:
            (B, embed_dim) embeddings, not normalised.
        """
        mel = self.mel(audio)  # (B, M, frames)
        if self.training and self.config.spec_augment:
            mel = self._spec_augment(mel)
        x = self.stem(mel.unsqueeze(1))  # (B, C, M', frames')
        b, ch, f, t = x.shape
        x = self.patch(x.permute(0, 3, 1, 2).reshape(b, t, ch * f))  # (B, frames', width)
        x = x + sinusoids(t, x.shape[-1], x.device)
        if samples is None:
            keep = torch.ones(b, t, dtype=torch.bool, device=x.device)
        else:
            n = self.tokens_for(samples.to(x.device)).clamp_max(t)
            keep = torch.arange(t, device=x.device)[None] < n[:, None]  # (B, frames')
        x = self.transformer(x, src_key_padding_mask=~keep)
        x = self.norm(x)
        m = keep.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp_min(1.0)  # masked mean over tokens
        return self.proj(pooled)


def split_windows(audio: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut one mono clip into windows of ``window`` samples.

    A clip no longer than a window gives one zero-padded window; a longer clip gives
    ``ceil(len / window)`` full windows spread evenly from its start to its end (the last
    ones overlap a little), so no window is padded and every sample is seen.

    Returns:
        ``(windows (W, window) float32, valid samples (W,) int64)``.
    """
    n = len(audio)
    if n <= window:
        out = np.zeros((1, window), np.float32)
        out[0, :n] = audio
        return out, np.array([n], np.int64)
    count = math.ceil(n / window)
    starts = np.round(np.linspace(0, n - window, count)).astype(np.int64)
    return np.stack([audio[s : s + window] for s in starts]), np.full(count, window, np.int64)
