"""Candidate (b) of codec v2: a small learned vocoder after the v2 decoder (docs/codec.md).

Why: fast Griffin-Lim finds *a* phase consistent with the decoded magnitudes, not the
original's, in 8 passes of STFT and inverse STFT; a GAN vocoder (HiFi-GAN, Vocos) learns
phase, and corrections to the magnitudes, from data, in one pass. This one is
Vocos-shaped (arXiv 2306.00814: ConvNeXt blocks at the frame rate, an inverse-STFT head,
so it costs little per second) and starts where the phase-locked start leaves off: its
head is zero at initialisation, so before training it plays the decoded magnitudes with
:func:`musiclm.codec.phase.peak_phase` and no Griffin-Lim iteration, and training learns
the corrections (:mod:`musiclm.codec.vocoder_train`, multi-period + multi-resolution
discriminators).

The codes, the codec and its version are untouched: the vocoder reads the frozen v2
decoder's log |X|, so it can replace Griffin-Lim under any token the stages make.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from musiclm.codec.framecodec import _Backbone
from musiclm.codec.phase import istft, peak_phase
from musiclm.codec.spectral import MAG_FLOOR
from musiclm.configs import Config
from musiclm.errors import UserError


@dataclass
class VocoderConfig(Config):
    NAME: ClassVar[str] = "vocoder"

    codec_version: str = ""  # the codec whose decoded log |X| it plays (checked when used)
    sample_rate: int = 24000
    n_fft: int = 2048  # the codec's STFT: one input frame per code vector
    hop_length: int = 480
    channels: int = 256
    n_blocks: int = 4
    mlp_ratio: int = 3

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "channels", "n_blocks", "mlp_ratio"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class Vocoder(nn.Module):
    """Decoded log |X| ``(B, bins, frames)`` -> waveform ``(B, frames * hop)``."""

    def __init__(self, config: VocoderConfig):
        super().__init__()
        self.config = c = config
        self.bins = c.n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(c.n_fft), persistent=False)
        self.backbone = _Backbone(self.bins, c.channels, c.n_blocks, c.mlp_ratio, kernel=7)
        self.head = nn.Linear(c.channels, 2 * self.bins)  # log-magnitude and phase corrections
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.floor, self.ceiling = math.log(MAG_FLOOR), math.log(c.n_fft)

    def forward(self, log_mag: Tensor) -> Tensor:
        if log_mag.ndim != 3 or log_mag.shape[1] != self.bins:
            raise ValueError(
                f"log_mag must be (batch, {self.bins}, frames), got {tuple(log_mag.shape)}"
            )
        c = self.config
        d_mag, d_phase = self.head(self.backbone(log_mag)).transpose(1, 2).float().chunk(2, dim=1)
        mag = (log_mag.float() + d_mag).clamp(max=self.ceiling).exp()
        mag = torch.where(log_mag <= self.floor, torch.zeros_like(mag), mag)  # silence stays
        # the STFT's frame past the end, as the codec's synthesis repeats it
        mag = torch.cat([mag, mag[..., -1:]], dim=-1)
        d_phase = torch.cat([d_phase, d_phase[..., -1:]], dim=-1)
        with torch.no_grad():
            start = peak_phase(mag.detach(), n_fft=c.n_fft, hop=c.hop_length)
        spec = mag * start * torch.polar(torch.ones_like(d_phase), d_phase)
        length = log_mag.shape[-1] * c.hop_length
        return istft(spec, c.n_fft, c.hop_length, self.window.float(), length)

    def save_pretrained(self, path: str | os.PathLike, fp16: bool = False) -> None:
        """``config.json`` + ``model.safetensors``, as every model of the project."""
        from musiclm.training.checkpoint import model_state_dict, save_pretrained

        save_pretrained(
            model_state_dict(self), self.config.to_dict(), path,
            dtype=torch.float16 if fp16 else torch.float32,
        )  # fmt: skip

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> Vocoder:
        from musiclm.training.checkpoint import load_pretrained

        if not (Path(path) / "config.json").exists():
            raise UserError(f"no vocoder at {path} (config.json missing)")
        state, config = load_pretrained(path)
        model = cls(VocoderConfig.from_dict(config))
        try:
            model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        except RuntimeError as e:
            raise UserError(f"{path}: the weights do not match its vocoder config ({e})") from e
        return model.eval()


class VocodedCodec:
    """A codec whose decoding goes through a vocoder instead of Griffin-Lim: the same
    ``encode`` / ``decode`` / ``bitrate`` as :class:`musiclm.codec.model.Codec`, so the
    codec benchmark (``benchmarks/codec_quality.py --vocoder``) scores both alike."""

    def __init__(self, codec, vocoder: Vocoder):
        if codec.config.family != "spectral":
            raise UserError("a vocoder plays the spectral codec's magnitudes (v2), not this codec")
        if vocoder.config.codec_version != codec.version:
            raise UserError(
                f"the vocoder was trained for codec {vocoder.config.codec_version or '?'}, "
                f"not {codec.version}"
            )
        self.codec, self.vocoder = codec, vocoder.to(codec.device)
        self.config, self.version = codec.config, codec.version
        self.sample_rate, self.levels = codec.sample_rate, codec.levels

    def parameters(self):
        yield from self.codec.parameters()
        yield from self.vocoder.parameters()

    def bitrate(self, n_levels: int | None = None) -> float:
        return self.codec.bitrate(n_levels)

    def encode(self, audio, sample_rate: int, n_levels: int | None = None) -> np.ndarray:
        return self.codec.encode(audio, sample_rate, n_levels)

    @torch.no_grad()
    def batch_decode(self, codes: Tensor) -> Tensor:
        return self.vocoder(self.codec.batch_log_magnitude(codes))

    def decode(self, codes) -> np.ndarray:
        codes = torch.as_tensor(np.asarray(codes))
        if codes.ndim != 2:
            raise UserError(f"codes must be (levels, frames), got shape {tuple(codes.shape)}")
        return self.batch_decode(codes[None])[0].float().cpu().numpy()
