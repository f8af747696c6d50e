"""The semantic tokenizer's configuration: one dataclass, named presets, stored as
``config.json``.

MusicLM's semantic tokens are k-means (1024) ids of w2v-BERT layer-7 features at 25 Hz
(arXiv 2301.11325 §3.1). We cannot download w2v-BERT, so we grow our own, as HuBERT did
(arXiv 2106.07447 §II): iteration 0 clusters hand-made frame features (log-mel, chroma,
onset strength; HuBERT's first iteration clusters MFCCs); iteration ``n >= 1`` clusters a
middle layer of a masked-prediction Transformer trained to predict iteration ``n - 1``'s
cluster ids of masked frames.

Analysis runs at 16 kHz (w2v-BERT's rate) with a hop of 640 samples: 25 frames per second.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from musiclm.configs import Config
from musiclm.errors import UserError

FORMAT_VERSION = 1


@dataclass
class SemanticConfig(Config):
    NAME: ClassVar[str] = "semantic"

    # -- frame features (every iteration) -------------------------------------------------
    sample_rate: int = 16000  # analysis rate; input of any rate is resampled (soxr)
    hop_length: int = 640  # 16000 / 640 = 25 Hz, MusicLM's semantic frame rate
    n_fft: int = 2048  # 128 ms window: 7.8 Hz bins, enough for chroma above ~100 Hz
    n_mels: int = 64
    fmin: float = 30.0
    fmax: float = 8000.0
    # After per-dimension standardisation each group is scaled by weight / sqrt(dims), so
    # the 64 mel bands do not outvote the 12 chroma bins in k-means distances.
    mel_weight: float = 1.0
    chroma_weight: float = 1.0
    onset_weight: float = 0.5
    # -- tokens ---------------------------------------------------------------------------
    clusters: int = 1024  # k-means vocabulary (MusicLM: 1024)
    iteration: int = 0  # 0: k-means on frame features; n >= 1: on the encoder's layer
    # -- masked-prediction encoder (iteration >= 1) ---------------------------------------
    targets: int = 1024  # vocabulary of the previous iteration's tokens it predicts
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    ff_mult: int = 4
    pos_kernel: int = 31  # depthwise conv positional embedding (HuBERT/wav2vec 2.0: 128)
    layer: int = 4  # clustered layer, 1..n_layers (HuBERT Base iteration 2: layer 6 of 12)
    dropout: float = 0.1
    mask_prob: float = 0.08  # chance a frame starts a masked span (HuBERT: 8%)
    mask_span: int = 5  # span length in frames: 200 ms, HuBERT's 10 frames at 50 Hz
    window_seconds: float = 10.0  # training crop and inference window
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        ints = ("sample_rate", "hop_length", "n_fft", "n_mels", "d_model", "n_layers")
        for name in ints + ("n_heads", "ff_mult", "pos_kernel", "mask_span", "layer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.clusters < 2 or self.targets < 2:
            raise ValueError(
                f"clusters and targets must be >= 2, got {self.clusters}/{self.targets}"
            )
        if self.iteration < 0:
            raise ValueError(f"iteration must be >= 0, got {self.iteration}")
        if self.sample_rate % self.hop_length:
            raise ValueError(f"sample_rate {self.sample_rate} is not a multiple of the hop")
        if self.n_fft < self.hop_length:
            raise ValueError(f"n_fft {self.n_fft} must be >= hop_length {self.hop_length}")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(
                f"need 0 <= fmin < fmax <= sample_rate / 2, got {self.fmin}..{self.fmax}"
            )
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.layer > self.n_layers:
            raise ValueError(f"layer must be in 1..n_layers ({self.n_layers}), got {self.layer}")
        if min(self.mel_weight, self.chroma_weight, self.onset_weight) < 0:
            raise ValueError("feature weights must be >= 0")
        if not 0 <= self.dropout < 1 or not 0 < self.mask_prob < 1:
            raise ValueError("need 0 <= dropout < 1 and 0 < mask_prob < 1")
        if not self.window_seconds * self.frame_rate >= 2 * self.mask_span:
            raise ValueError(f"window_seconds {self.window_seconds} is too short for the masks")
        if self.format_version != FORMAT_VERSION:
            raise ValueError(
                f"semantic format_version {self.format_version} is not supported "
                f"(this version of musiclm reads {FORMAT_VERSION})"
            )

    @property
    def frame_rate(self) -> int:
        """Tokens per second (25 by default); an integer by construction."""
        return self.sample_rate // self.hop_length

    @property
    def feature_dim(self) -> int:
        """Frame feature size: log-mel bands + 12 chroma bins + 1 onset strength."""
        return self.n_mels + 13

    @property
    def window_frames(self) -> int:
        return max(1, round(self.window_seconds * self.frame_rate))

    def replace(self, **changes) -> SemanticConfig:
        """A validated copy with some fields changed; UserError for bad values."""
        try:
            return dataclasses.replace(self, **changes)
        except (TypeError, ValueError) as e:
            raise UserError(f"invalid semantic config: {e}") from None


PRESETS: dict[str, dict] = {
    # Tests: fits and trains in a second; 16 clusters over 16 mel bands.
    "debug": dict(
        n_mels=16, clusters=16, targets=16, d_model=32, n_layers=2, n_heads=2, ff_mult=2,
        pos_kernel=7, layer=1, dropout=0.0, window_seconds=4.0,
    ),
    # An iteration-1 encoder a 2-core CPU trains in minutes (4 x 96, ~0.5M parameters).
    "small": dict(
        n_mels=64, clusters=1024, targets=1024, d_model=96, n_layers=4, n_heads=4,
        layer=2, window_seconds=10.0,
    ),
    # The bundled tokenizer: 1024 clusters, a 6-layer 192-wide encoder (~2.7M parameters)
    # that trains on one GPU in minutes; clustered at layer 4 (w2v-BERT: layer 7).
    "tiny": dict(
        n_mels=64, clusters=1024, targets=1024, d_model=192, n_layers=6, n_heads=4,
        layer=4, window_seconds=10.0,
    ),
    # HuBERT Base's encoder sizes (12 x 768, 12 heads), MusicLM's 1024 clusters.
    "base": dict(
        n_mels=80, clusters=1024, targets=1024, d_model=768, n_layers=12, n_heads=12,
        pos_kernel=63, layer=7, window_seconds=15.0,
    ),
}  # fmt: skip
SemanticConfig.PRESETS = PRESETS  # the names SemanticConfig.preset() knows
