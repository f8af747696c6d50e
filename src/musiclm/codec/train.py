"""Training the codec with the shared trainer: reconstruction losses, optional GAN.

Losses (weights in :class:`CodecLossConfig`): multi-resolution STFT (spectral convergence +
log magnitude, plus a compressed complex term so phase is learned without a GAN),
multi-scale log-mel L1, RVQ commitment; with ``adversarial`` a multi-scale complex STFT
discriminator (hinge loss) and feature matching join after ``disc_start`` steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from musiclm.codec.config import CodecConfig
from musiclm.codec.discriminator import (
    MultiScaleSTFTDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from musiclm.codec.losses import MelLoss, MultiResolutionSTFTLoss
from musiclm.codec.model import Codec, CodecOutput
from musiclm.codec.quantize import code_perplexity
from musiclm.data.dataset import ClipDataset
from musiclm.errors import UserError
from musiclm.training import TrainConfig, TrainTask
from musiclm.training.task import adamw


@dataclass(frozen=True)
class CodecLossConfig:
    stft: float = 1.0
    complex: float = 0.5  # phase-aware term of the MR-STFT loss
    mel: float = 1.0
    # 0.02, not VQ-VAE's 0.25: tiny, 700 steps, same seed, held-out SC 0.752 vs 0.772 (the
    # unquantized latent decodes no better, so a looser pull on the encoder costs nothing)
    commit: float = 0.02
    adversarial: bool = False
    disc_start: int = 2000
    adv: float = 1.0
    feature: float = 2.0
    crop_seconds: float = 1.0
    # spectral family (magnitude-domain codec): L1 of log |X| and spectral convergence of
    # |X|, at the STFT the decoder predicts; phase recovery is not trained
    spectral_log: float = 1.0
    spectral_sc: float = 1.0


class AudioCropTask(TrainTask):
    """A task trained on crops of a corpus' audio (the codec, its vocoder): the subclass
    sets ``config`` (with ``sample_rate``), ``data``, ``val``, ``seed`` and ``losses``
    (with ``crop_seconds``)."""

    def _dataset(self, manifest, train: bool) -> ClipDataset:
        return ClipDataset(
            manifest,
            sample_rate=self.config.sample_rate,
            seconds=self.losses.crop_seconds,
            random_crop=train,
            seed=self.seed,
        )

    def train_dataset(self) -> ClipDataset:
        return self._dataset(self.data, True)

    def val_dataset(self) -> ClipDataset | None:
        return self._dataset(self.val, False) if self.val else None

    def collate(self, items: list[dict[str, Any]]) -> torch.Tensor:
        return torch.stack([it["audio"] for it in items])  # (B, T); captions are not needed


def adversarial_terms(disc: nn.Module, real: torch.Tensor, est: torch.Tensor):
    """The generator's hinge loss and feature matching against ``disc`` for the audio
    ``est`` (with gradients) and its target ``real``."""
    fake_out = disc(est)
    with torch.no_grad():
        real_out = disc(real)
    adv = generator_adversarial_loss(fake_out.logits)
    return adv, feature_matching_loss(real_out.features, fake_out.features)


class CodecTask(AudioCropTask):
    """The codec as a :class:`TrainTask`: crops of a corpus in, reconstruction losses out."""

    def __init__(
        self,
        config: CodecConfig,
        data: str | Path,
        *,
        val: str | Path | None = None,
        losses: CodecLossConfig = CodecLossConfig(),
        seed: int = 0,
        init_from: str | Path | None = None,
        decoder_only: bool = False,
    ):
        self.config, self.data, self.val, self.losses, self.seed = config, data, val, losses, seed
        # decoder_only: fine-tune the decoder of a trained codec (init_from) on its frozen
        # encoder and codebooks, so its codes (and every token made with them) keep their
        # meaning and the codec keeps its version
        if decoder_only and init_from is None:
            raise UserError("decoder-only training needs a trained codec to start from")
        if decoder_only and config.family != "spectral":
            raise UserError("decoder-only training is for the spectral codec (v2)")
        self.init_from, self.decoder_only = init_from, decoder_only
        self.stft = MultiResolutionSTFTLoss(complex_weight=losses.complex)
        self.mel = MelLoss(config.sample_rate, n_ffts=(512, 1024, 2048), n_mels=(40, 80, 128))

    def model_config(self) -> dict[str, Any]:
        out = {"codec": self.config.to_dict(), "losses": asdict(self.losses)}
        if self.init_from is not None:
            out["init_from"] = str(self.init_from)
            out["decoder_only"] = self.decoder_only
        return out

    def build_model(self) -> nn.Module | dict[str, nn.Module]:
        if self.init_from is not None:
            codec = Codec.from_pretrained(self.init_from)
            if codec.config.version != self.config.version:
                raise UserError(
                    f"--init-from {self.init_from} is codec {codec.version}, not "
                    f"{self.config.version}"
                )
            if self.decoder_only:
                for p in [*codec.encoder.parameters(), *codec.quantizer.parameters()]:
                    p.requires_grad_(False)
        else:
            codec = Codec(self.config)
            # rescale encoder outputs to unit RMS from real data before the RVQ sees them
            ds = self.train_dataset()
            batch = torch.stack([ds[i]["audio"] for i in range(min(16, len(ds)))])
            codec.calibrate(batch)
        if not self.losses.adversarial:
            return codec
        return {"codec": codec, "disc": MultiScaleSTFTDiscriminator()}

    def optimizers(self, model, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        if not isinstance(model, dict):
            return super().optimizers(model, config)
        return {
            "disc": adamw(model["disc"].parameters(), config),
            "codec": adamw(model["codec"].parameters(), config),
        }

    @staticmethod
    def _frozen_codes(codec: Codec, audio: torch.Tensor):
        """Decoder-only training: the frozen encoder's target and quantised latent (the
        codebooks are read, never updated); in training a random prefix of levels, as
        quantizer dropout draws it, so every prefix keeps decoding well."""
        with torch.no_grad():
            target = codec.encoder.log_magnitude(codec._pad(codec._check_batch(audio)))
            z = codec.encoder.encode(target) * codec.latent_scale
            n = int(torch.randint(1, codec.levels + 1, (1,))) if codec.training else None
            codes = codec.quantizer.encode(z, n)
            return target, codec.quantizer.decode(codes), codes

    def _spectral(self, codec, audio: torch.Tensor):
        """The magnitude-domain codec's loss: no waveform is synthesised in training."""
        if self.decoder_only:
            target, quantized, codes = self._frozen_codes(codec, audio)
            log_mag = codec.decoder.predict(quantized)
            ppl = torch.stack([code_perplexity(c, codec.codebook_size) for c in codes.unbind(1)])
            out = CodecOutput(audio.new_zeros(audio.shape[0], 0), codes, log_mag.new_zeros(()),
                              ppl, codes.shape[1], log_mag, target)  # fmt: skip
        else:
            out = codec(audio, synthesize=False)
        log_l1 = (out.log_mag - out.target_log_mag).abs().mean()
        est, ref = out.log_mag.exp(), out.target_log_mag.exp()
        sc = torch.linalg.vector_norm(ref - est) / torch.linalg.vector_norm(ref).clamp_min(1e-8)
        loss = self.losses.spectral_log * log_l1 + self.losses.spectral_sc * sc
        loss = loss + self.losses.commit * out.commit_loss
        metrics = {
            "sc": sc.item(),
            "log_mag": log_l1.item(),
            "commit": out.commit_loss.item(),
            "levels": float(out.n_levels),
            "perplexity_l1": out.perplexity[0].item(),
        }
        return None, loss, metrics

    def _reconstruction(self, codec, audio: torch.Tensor):
        if codec.config.family == "spectral":
            if self.losses.adversarial:
                raise UserError("the spectral codec has no adversarial training (no waveform)")
            return self._spectral(codec, audio)
        out = codec(audio)
        est = out.audio[:, : audio.shape[-1]]
        stft = self.stft(est, audio)
        mel = self.mel(est, audio)
        loss = self.losses.stft * stft.total + self.losses.mel * mel
        loss = loss + self.losses.commit * out.commit_loss
        metrics = {
            "sc": stft.sc.item(),
            "mag": stft.mag.item(),
            "mel": mel.item(),
            "commit": out.commit_loss.item(),
            "levels": float(out.n_levels),
            "perplexity_l1": out.perplexity[0].item(),
        }
        return est, loss, metrics

    def loss(self, model, batch: torch.Tensor, step: int, optimizer: str = "main"):
        if not isinstance(model, dict):
            _, loss, metrics = self._reconstruction(model, batch)
            return loss, metrics
        gan = step >= self.losses.disc_start
        if optimizer == "disc":
            if not gan:
                return None, {}
            with torch.no_grad():
                fake = model["codec"](batch).audio[:, : batch.shape[-1]]
            real_out, fake_out = model["disc"](batch), model["disc"](fake)
            d = discriminator_loss(real_out.logits, fake_out.logits)
            return d, {"disc": d.item()}
        est, loss, metrics = self._reconstruction(model["codec"], batch)
        if gan:
            adv, fm = adversarial_terms(model["disc"], batch, est)
            loss = loss + self.losses.adv * adv + self.losses.feature * fm
            metrics |= {"adv": adv.item(), "fm": fm.item()}
        return loss, metrics

    @staticmethod
    def codec_of(model) -> Codec:
        return model["codec"] if isinstance(model, dict) else model
