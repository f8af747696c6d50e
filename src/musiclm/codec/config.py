"""The codec's configuration: one dataclass, named presets, stored as ``config.json``.

Two model families share one interface (see :mod:`musiclm.codec.model`):

- ``"seanet"`` — SoundStream/EnCodec's strided conv encoder/decoder; the frame rate is
  ``sample_rate / prod(strides)``.
- ``"frame"`` — a Vocos-style codec (Siuzdak 2023, arXiv 2306.00814) that works at the
  frame rate throughout: STFT in, ConvNeXt blocks, magnitude + phase head, inverse STFT;
  the frame rate is ``sample_rate / hop_length``.
- ``"spectral"`` — the same frame-rate ConvNeXt backbone on STFT magnitudes only, with
  the phase recovered by fast Griffin-Lim (:mod:`musiclm.codec.spectral`): the codec v2,
  chosen because it keeps the notes (docs/codec.md).

Why ``tiny`` is the frame family: measured on the 2-core CPU (16 kHz, 50 Hz, RVQ 8 x 1024,
batch 8 x 1 s), SEANet 2.1M params took ~0.6 s/step and reached log-mel L1 0.80 in 12 min;
the frame codec 2.9M params took ~0.19 s/step, reached 0.46 in the same time and decodes
~5x faster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from musiclm.configs import Config, config_hash

FORMAT_VERSION = 1
FAMILIES = ("seanet", "frame", "spectral")
DECODE_ONLY = ("gla_iters", "gla_momentum")


@dataclass
class CodecConfig(Config):
    NAME: ClassVar[str] = "codec"

    family: str = "frame"  # "seanet" | "frame" | "spectral"
    sample_rate: int = 24000  # MusicLM / SoundStream: 24 kHz mono
    latent_dim: int = 128  # width of the quantized latent (RVQ dim)
    # seanet: channels after the first conv, doubled at every stride;
    # frame: width of the ConvNeXt blocks.
    channels: int = 192
    # seanet: residual units per stage, dilations 3**i (3 -> 1, 3, 9);
    # frame: ConvNeXt blocks in the encoder and again in the decoder.
    n_blocks: int = 4
    strides: tuple[int, ...] = (3, 4, 5, 8)  # seanet only; product = hop length
    n_fft: int = 1920  # frame only; 4 x hop as in Vocos (n_fft 1024, hop 256)
    hop_length: int = 480  # frame only; 24000 / 480 = 50 Hz frames
    mlp_ratio: int = 3  # frame only; ConvNeXt pointwise MLP expansion (Vocos: 3)
    phase_features: bool = True  # frame only; cos/sin of the STFT phase beside log |X|
    gla_iters: int = 32  # spectral only; fast Griffin-Lim iterations when decoding
    gla_momentum: float = 0.99  # spectral only; its momentum (Perraudin et al. 2013)
    levels: int = 8  # RVQ levels
    codebook_size: int = 1024  # codes per level (10 bits)
    rvq_decay: float = 0.99  # EMA decay of the codebooks
    rvq_dead_after: int = 200  # steps unused before a code is re-seeded
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        self.strides = tuple(int(s) for s in self.strides)
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        positive = ("sample_rate", "latent_dim", "channels", "n_blocks", "levels")
        for name in positive + ("codebook_size", "mlp_ratio"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.gla_iters < 0 or not 0.0 <= self.gla_momentum < 1.0:
            raise ValueError(
                f"gla_iters must be >= 0 and gla_momentum in [0, 1), got "
                f"{self.gla_iters} / {self.gla_momentum}"
            )
        if self.codebook_size < 2:
            raise ValueError(f"codebook_size must be >= 2, got {self.codebook_size}")
        if self.family == "seanet":
            if not self.strides or min(self.strides) < 1:
                raise ValueError(f"strides must be positive, got {self.strides}")
        elif self.n_fft < 2 * self.hop_length or self.n_fft % 2:
            # torch.istft needs a non-zero window envelope over the last hop of output,
            # which the half-window past the last frame centre covers only if n_fft >= 2 hop.
            raise ValueError(
                f"n_fft must be even and >= 2 x hop_length, got {self.n_fft} / {self.hop_length}"
            )
        if self.sample_rate % self.hop != 0:
            raise ValueError(
                f"sample_rate {self.sample_rate} is not divisible by the hop {self.hop} "
                f"({'strides ' + str(self.strides) if self.family == 'seanet' else 'hop_length'})"
            )
        if self.format_version != FORMAT_VERSION:
            raise ValueError(
                f"codec format_version {self.format_version} is not supported "
                f"(this version of musiclm reads {FORMAT_VERSION})"
            )

    @property
    def hop(self) -> int:
        """Samples per frame: ``prod(strides)`` (seanet) or ``hop_length`` (frame, spectral)."""
        return math.prod(self.strides) if self.family == "seanet" else self.hop_length

    @property
    def frame_rate(self) -> int:
        """Frames (code vectors) per second; an integer by construction."""
        return self.sample_rate // self.hop

    def bitrate(self, n_levels: int | None = None) -> float:
        """Bits per second at ``n_levels`` RVQ levels (all by default)."""
        n = self.levels if n_levels is None else n_levels
        return self.frame_rate * n * math.log2(self.codebook_size)

    @property
    def version(self) -> str:
        """A short name of this codec layout, written into code files so that codes of one
        codec are never decoded by another: family + 8 hex digits of the SHA-256 of the
        config without its decode-only settings (Griffin-Lim iterations and momentum
        change how codes sound, not what they mean)."""
        d = {k: v for k, v in self.to_dict().items() if k not in DECODE_ONLY}
        return f"{self.family}-{config_hash(d)[:8]}"


PRESETS: dict[str, dict] = {
    # Random tiny models for tests: build in milliseconds; 250 Hz frames at 8 kHz.
    "debug": dict(
        family="frame", sample_rate=8000, latent_dim=16, channels=32, n_blocks=1,
        n_fft=64, hop_length=32, mlp_ratio=2, levels=4, codebook_size=32,
    ),
    "debug-seanet": dict(
        family="seanet", sample_rate=8000, latent_dim=16, channels=4, n_blocks=1,
        strides=(4, 8), levels=4, codebook_size=32,
    ),
    # The bundled model: 24 kHz, 50 Hz, 8 x 1024 = 4 kbps, ~3M parameters.
    "tiny": dict(
        family="frame", sample_rate=24000, latent_dim=128, channels=192, n_blocks=4,
        n_fft=1920, hop_length=480, levels=8, codebook_size=1024,
    ),
    # Codec v2: magnitude-domain, phase by fast Griffin-Lim; 24 kHz, 50 Hz, RVQ 12 x 1024 =
    # 6 kbps as MusicLM's SoundStream. n_fft 2048 at hop 480 by measurement: unquantised,
    # from zero phase it kept chroma 0.99 after 32 iterations vs 0.97 at 1920 and 0.91 at
    # n_fft 1024 / hop 240 (from the peak-locked start 1920 is as good; docs/codec.md).
    "spectral": dict(
        family="spectral", sample_rate=24000, latent_dim=128, channels=256, n_blocks=4,
        n_fft=2048, hop_length=480, levels=12, codebook_size=1024,
    ),
    "debug-spectral": dict(
        family="spectral", sample_rate=8000, latent_dim=16, channels=32, n_blocks=1,
        n_fft=64, hop_length=32, mlp_ratio=2, levels=4, codebook_size=32, gla_iters=4,
    ),
    # The same rate and bitrate with SEANet, for comparison (~2M parameters).
    "tiny-seanet": dict(
        family="seanet", sample_rate=24000, latent_dim=128, channels=16, n_blocks=3,
        strides=(3, 4, 5, 8), levels=8, codebook_size=1024,
    ),
    # MusicLM's acoustic tokenizer (SoundStream): 24 kHz, 50 Hz frames, RVQ 12 x 1024 =
    # 6 kbps (arXiv 2301.11325 §3.1). SoundStream's 24 kHz strides are (2, 4, 5, 8) = 320
    # (75 Hz); the first becomes 3 to reach the hop of 480 (3*4*5*8) that 50 Hz needs.
    "base": dict(
        family="seanet", sample_rate=24000, latent_dim=128, channels=32, n_blocks=3,
        strides=(3, 4, 5, 8), levels=12, codebook_size=1024,
    ),
}  # fmt: skip
CodecConfig.PRESETS = PRESETS  # the names CodecConfig.preset() knows
