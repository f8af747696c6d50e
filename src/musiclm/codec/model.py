"""The acoustic codec: encoder -> residual VQ -> decoder, built from a :class:`CodecConfig`.

MusicLM's acoustic tokens are SoundStream codes (arXiv 2301.11325 §3.1): 24 kHz mono,
50 Hz frames, RVQ 12 x 1024. Two backbones share this class (``config.family``):
``"seanet"`` (:mod:`musiclm.codec.seanet`) and ``"frame"`` (:mod:`musiclm.codec.framecodec`).

    codec = Codec.from_pretrained()            # the bundled model, or a folder
    codes = codec.encode(audio, sample_rate)   # (levels, frames) int64, any rate/channels
    audio = codec.decode(codes)                # (frames * hop,) float32 at codec.sample_rate

Training uses :meth:`Codec.forward` on ``(B, T)`` tensors; call :meth:`Codec.calibrate`
once on a batch of real audio first.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from musiclm.codec.config import CodecConfig
from musiclm.codec.framecodec import FrameDecoder, FrameEncoder
from musiclm.codec.quantize import ResidualVQ
from musiclm.codec.seanet import SEANetDecoder, SEANetEncoder
from musiclm.codec.spectral import SpectralDecoder, SpectralEncoder
from musiclm.devices import resolve_device
from musiclm.errors import UserError
from musiclm.io import as_mono, check_rate, resample

# Bundled codecs by name: v2 (the magnitude-domain codec that keeps the notes;
# docs/codec.md) is the default, the codec of the bundled MusicLM's acoustic stages;
# v1 (frame family) is kept to decode its code files and for comparison.
BUNDLED_V1 = Path(__file__).resolve().parent.parent / "assets" / "codec"
BUNDLED_V2 = BUNDLED_V1.parent / "codec_v2"
BUNDLED = BUNDLED_V2
BUNDLED_CODECS = ("v1", "v2")
_EMA_SUM = "ema_sum"  # RVQ training state, rebuilt on load (see Codec.save_pretrained)


@dataclass
class CodecOutput:
    audio: torch.Tensor  # (B, frames * hop) reconstruction
    codes: torch.Tensor  # (B, n_levels, frames) int64
    commit_loss: torch.Tensor  # scalar, from the quantizer
    perplexity: torch.Tensor  # (levels,) codebook usage per level
    n_levels: int  # RVQ levels used (random in training with quantizer dropout)
    # spectral family: predicted and input log |X| (B, bins, frames); None otherwise
    log_mag: torch.Tensor | None = None
    target_log_mag: torch.Tensor | None = None


class Codec(nn.Module):
    """SoundStream-style codec. Input and output audio are mono at ``config.sample_rate``."""

    def __init__(self, config: CodecConfig):
        super().__init__()
        self.config = c = config
        if c.family == "seanet":
            self.encoder = SEANetEncoder(c.latent_dim, c.channels, c.strides, c.n_blocks)
            self.decoder = SEANetDecoder(c.latent_dim, c.channels, c.strides, c.n_blocks)
        elif c.family == "spectral":
            stft = dict(n_fft=c.n_fft, hop_length=c.hop_length, mlp_ratio=c.mlp_ratio)
            self.encoder = SpectralEncoder(c.latent_dim, c.channels, c.n_blocks, **stft)
            self.decoder = SpectralDecoder(
                c.latent_dim, c.channels, c.n_blocks, gla_iters=c.gla_iters,
                gla_momentum=c.gla_momentum, **stft,
            )  # fmt: skip
        else:
            stft = dict(n_fft=c.n_fft, hop_length=c.hop_length, mlp_ratio=c.mlp_ratio)
            self.encoder = FrameEncoder(
                c.latent_dim, c.channels, c.n_blocks, phase_features=c.phase_features, **stft
            )
            self.decoder = FrameDecoder(c.latent_dim, c.channels, c.n_blocks, **stft)
        self.quantizer = ResidualVQ(
            c.latent_dim, c.levels, c.codebook_size, decay=c.rvq_decay, dead_after=c.rvq_dead_after
        )
        # Multiplies the encoder output so that it has unit RMS on real audio (set by
        # calibrate()). Without it the first RVQ level collapsed in our CPU runs: the
        # latent's scale at init is arbitrary and the EMA codebooks start far from it.
        self.register_buffer("latent_scale", torch.ones(()))

    # -- facts ---------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def frame_rate(self) -> int:
        return self.config.frame_rate

    @property
    def hop_length(self) -> int:
        return self.config.hop

    @property
    def version(self) -> str:
        """The codec's layout name (family + config hash), as written into code files."""
        return self.config.version

    @property
    def levels(self) -> int:
        return self.config.levels

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    def bitrate(self, n_levels: int | None = None) -> float:
        """Bits per second at ``n_levels`` levels (all by default): 50 Hz x 12 x 10 = 6000
        for ``base``."""
        return self.config.bitrate(self._check_levels(n_levels))

    @property
    def device(self) -> torch.device:
        return self.latent_scale.device

    # -- training ------------------------------------------------------------------------

    @torch.no_grad()
    def calibrate(self, audio: torch.Tensor) -> float:
        """Set :attr:`latent_scale` so encoder outputs of ``audio (B, T)`` have unit RMS.

        Call once before training, on a batch of real (non-silent) audio. Returns the scale.
        """
        z = self.encoder(self._pad(self._check_batch(audio)))
        rms = float(z.float().square().mean().sqrt())
        if not math.isfinite(rms) or rms < 1e-8:
            raise ValueError(f"cannot calibrate on this batch: encoder output RMS is {rms}")
        self.latent_scale.fill_(1.0 / rms)
        return 1.0 / rms

    def forward(
        self, audio: torch.Tensor, n_levels: int | None = None, *, synthesize: bool = True
    ) -> CodecOutput:
        """Encode, quantize and decode a batch.

        Args:
            audio: ``(B, T)`` at ``sample_rate``; padded with zeros to whole frames.
            n_levels: RVQ levels to use; ``None`` lets the quantizer decide (all levels, or a
                random number with quantizer dropout in training mode).
            synthesize: spectral family only: False skips the phase recovery (training
                compares magnitudes) and returns an empty ``audio``.
        Returns:
            :class:`CodecOutput` with ``audio (B, ceil(T / hop) * hop)``.
        """
        audio = self._pad(self._check_batch(audio))
        levels = self._check_levels(n_levels, allow_none=True)
        if self.config.family != "spectral":
            q = self.quantizer(self._latent(audio), n_levels=levels)  # latent (B, D, frames)
            return CodecOutput(
                self.decoder(q.quantized), q.codes, q.commit_loss, q.perplexity, q.n_levels
            )
        target = self.encoder.log_magnitude(audio)  # one STFT: the input and the target
        q = self.quantizer(self.encoder.encode(target) * self.latent_scale, n_levels=levels)
        log_mag = self.decoder.predict(q.quantized)
        out = self.decoder.synthesize(log_mag) if synthesize else audio.new_zeros(audio.shape[0], 0)
        return CodecOutput(out, q.codes, q.commit_loss, q.perplexity, q.n_levels, log_mag, target)

    # -- tensors in, tensors out -----------------------------------------------------------

    @torch.no_grad()
    def batch_encode(self, audio: torch.Tensor, n_levels: int | None = None) -> torch.Tensor:
        """``(B, T)`` mono at ``sample_rate`` -> codes ``(B, n_levels, ceil(T / hop))`` int64."""
        audio = self._pad(self._check_batch(audio)).to(self.device)
        z = self._latent(audio)
        return self.quantizer.encode(z, n_levels=self._check_levels(n_levels))

    @torch.no_grad()
    def batch_decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, Q, frames)`` with ``1 <= Q <= levels`` -> audio ``(B, frames * hop)``."""
        codes = torch.as_tensor(codes)
        if codes.ndim != 3:
            raise UserError(
                f"codes must be (batch, levels, frames), got shape {tuple(codes.shape)}"
            )
        self._check_codes(codes)
        return self.decoder(self.quantizer.decode(codes.long().to(self.device)))

    @torch.no_grad()
    def batch_log_magnitude(self, codes: torch.Tensor) -> torch.Tensor:
        """Spectral codec: codes ``(B, Q, frames)`` -> the decoder's log |X| ``(B, bins,
        frames)``, before phase recovery (what a learned vocoder plays instead)."""
        if self.config.family != "spectral":
            raise UserError("only the spectral codec (v2) decodes to magnitudes")
        codes = torch.as_tensor(codes)
        self._check_codes(codes)
        return self.decoder.predict(self.quantizer.decode(codes.long().to(self.device)))

    # -- one clip, numpy friendly ------------------------------------------------------------

    def encode(
        self, audio: np.ndarray | torch.Tensor, sample_rate: int, n_levels: int | None = None
    ) -> np.ndarray:
        """Encode one clip of any rate and channel count.

        Args:
            audio: ``(samples,)`` or ``(channels, samples)``, float; mixed down to mono,
                resampled (soxr) to :attr:`sample_rate` and padded with zeros to whole
                frames (at least one).
            sample_rate: the rate of ``audio``.
            n_levels: levels to keep (the first ``n_levels``), all by default.
        Returns:
            codes ``(n_levels, frames)`` int64, ``frames = ceil(resampled samples / hop)``.
        Raises:
            UserError: empty, non-finite or wrongly shaped audio; a bad rate or level count.
        """
        audio, rate = as_mono(audio), check_rate(sample_rate)
        audio = resample(audio, rate, self.sample_rate)
        codes = self.batch_encode(torch.from_numpy(np.ascontiguousarray(audio))[None], n_levels)
        return codes[0].cpu().numpy()

    def decode(self, codes: np.ndarray | torch.Tensor) -> np.ndarray:
        """Codes ``(Q, frames)`` (the first ``Q <= levels`` levels) -> float32 mono audio
        ``(frames * hop,)`` at :attr:`sample_rate`."""
        codes = torch.as_tensor(np.asarray(codes) if not isinstance(codes, torch.Tensor) else codes)
        if codes.ndim != 2:
            raise UserError(f"codes must be (levels, frames), got shape {tuple(codes.shape)}")
        return self.batch_decode(codes[None])[0].float().cpu().numpy()

    # -- files -------------------------------------------------------------------------------

    def save_pretrained(self, path: str | os.PathLike, fp16: bool = False) -> None:
        """Write ``config.json`` and ``model.safetensors`` (fp16 halves the file; weights
        load back into fp32). The RVQ's EMA sums are left out: they are training state
        that :meth:`from_pretrained` rebuilds from the codebooks (40 % of the v2 codec's
        file); training resumes from checkpoints, which keep everything."""
        from musiclm.training.checkpoint import model_state_dict, save_pretrained

        state = {k: v for k, v in model_state_dict(self).items() if not k.endswith(_EMA_SUM)}
        save_pretrained(
            state, self.config.to_dict(), path, dtype=torch.float16 if fp16 else torch.float32
        )

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike | None = None, device: str | torch.device | None = None
    ) -> Codec:
        """Load a folder written by :meth:`save_pretrained`; ``None`` loads the bundled codec
        (v2), ``"v1"`` or ``"v2"`` a bundled codec by name (unless a folder has that name).
        ``device``: where it runs (``None``: the CPU; ``"auto"``: a GPU if there is one).

        Raises:
            UserError: no such folder, no bundled codec, or weights that do not fit the config.
        """
        if path is None or (str(path) in BUNDLED_CODECS and not Path(path).exists()):
            path = {"v1": BUNDLED_V1, "v2": BUNDLED_V2}.get(str(path), BUNDLED)
            if not (path / "config.json").exists():
                raise UserError("no bundled codec yet; train one with `musiclm codec train`")
        from musiclm.training.checkpoint import load_pretrained  # not needed to build a model

        state, config = load_pretrained(path)
        model = cls(CodecConfig.from_dict(config))
        for key in [k for k in model.state_dict() if k.endswith(_EMA_SUM) and k not in state]:
            prefix = key[: -len(_EMA_SUM)]
            book, size = state.get(prefix + "codebook"), state.get(prefix + "ema_size")
            if book is not None and size is not None:
                state[key] = book.float() * size.float()[:, None]
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            detail = str(e).strip().splitlines()
            raise UserError(
                f"{path}: the weights do not match its codec config ({' '.join(detail[:3])})"
            ) from None
        return model.eval() if device is None else model.to(resolve_device(device)).eval()

    # -- checks ------------------------------------------------------------------------------

    def _latent(self, audio: torch.Tensor) -> torch.Tensor:
        return self.encoder(audio) * self.latent_scale  # (B, D, frames)

    def _pad(self, audio: torch.Tensor) -> torch.Tensor:
        """Zero-pad ``(B, T)`` at the end to whole frames, at least one."""
        frames = max(1, -(-audio.shape[-1] // self.hop_length))
        return F.pad(audio, (0, frames * self.hop_length - audio.shape[-1]))

    @staticmethod
    def _check_batch(audio: torch.Tensor) -> torch.Tensor:
        if not isinstance(audio, torch.Tensor) or audio.ndim != 2:
            shape = tuple(getattr(audio, "shape", ()))
            raise ValueError(f"audio must be a (batch, samples) tensor, got {shape}")
        if not audio.is_floating_point():
            raise ValueError(f"audio must be floating point, got {audio.dtype}")
        return audio

    def _check_levels(self, n_levels: int | None, allow_none: bool = False) -> int | None:
        if n_levels is None:
            return None if allow_none else self.levels
        if (
            isinstance(n_levels, bool)
            or int(n_levels) != n_levels
            or not (1 <= n_levels <= self.levels)
        ):
            raise UserError(f"n_levels must be in 1..{self.levels}, got {n_levels!r}")
        return int(n_levels)

    def _check_codes(self, codes: torch.Tensor) -> None:
        """``codes (B, Q, frames)``: integer, 1 <= Q <= levels, values in the codebook."""
        if codes.is_floating_point() or codes.is_complex() or codes.dtype == torch.bool:
            raise UserError(f"codes must be integers, got {codes.dtype}")
        q, frames = codes.shape[1], codes.shape[2]
        if not 1 <= q <= self.levels:
            raise UserError(f"codes have {q} levels; this codec has 1..{self.levels}")
        if frames == 0:
            raise UserError("codes have no frames")
        lo, hi = int(codes.min()), int(codes.max())
        if lo < 0 or hi >= self.codebook_size:
            raise UserError(f"code values must be in 0..{self.codebook_size - 1}, got {lo}..{hi}")
