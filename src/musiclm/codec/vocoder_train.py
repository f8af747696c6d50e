"""Training the vocoder (:mod:`musiclm.codec.vocoder`) with the shared trainer.

The codec is frozen: every crop is encoded, quantised at a random number of levels (4 to
all, so the coarse-only and full decodes are both served) and decoded to log |X|, which
the vocoder turns into audio. Losses as HiFi-GAN (arXiv 2010.05646 §2.3), with one more:
multi-scale log-mel L1 (weight 45), multi-resolution STFT (weight 5, against blurred
harmonics), hinge adversarial loss from multi-period + multi-resolution discriminators and
feature matching (weight 2); the discriminators from the first step unless ``disc_start``
says later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from musiclm.codec.discriminator import VocoderDiscriminator, discriminator_loss
from musiclm.codec.losses import MelLoss, MultiResolutionSTFTLoss, spectral_convergence
from musiclm.codec.model import Codec
from musiclm.codec.train import AudioCropTask, adversarial_terms
from musiclm.codec.vocoder import Vocoder, VocoderConfig
from musiclm.errors import UserError
from musiclm.training import TrainConfig
from musiclm.training.task import adamw

MIN_LEVELS = 4  # the coarse levels: the fewest a piece is ever decoded from


@dataclass(frozen=True)
class VocoderLossConfig:
    mel: float = 45.0
    # multi-resolution STFT (spectral convergence + log magnitude, up to n_fft 2048): the
    # mel loss alone let the vocoder blur the harmonics (chroma r 0.94 -> 0.66 after 1,500
    # steps, docs/codec.md), its coarse high bands do not see them
    stft: float = 5.0
    adv: float = 1.0
    feature: float = 2.0
    # the discriminators from the first step, as HiFi-GAN: with the reconstruction losses
    # alone the vocoder fills the gaps between harmonics (chroma r 0.94 -> 0.81 in 300
    # steps); on this CPU the discriminators did not stop it either (docs/codec.md)
    disc_start: int = 0
    crop_seconds: float = 1.0


class VocoderTask(AudioCropTask):
    """Crops of a corpus -> the frozen codec's decoded log |X| -> the vocoder -> losses."""

    def __init__(
        self,
        codec: str | Path,
        data: str | Path,
        *,
        val: str | Path | None = None,
        config: VocoderConfig | None = None,
        losses: VocoderLossConfig = VocoderLossConfig(),
        seed: int = 0,
    ):
        self.codec_path, self.data, self.val = str(codec), data, val
        self.losses, self.seed = losses, seed
        self.codec = Codec.from_pretrained(codec).eval()
        if self.codec.config.family != "spectral":
            raise UserError(f"--codec {codec}: a vocoder is for the spectral codec (v2)")
        for p in self.codec.parameters():
            p.requires_grad_(False)
        c = self.codec.config
        self.config = config or VocoderConfig(
            codec_version=self.codec.version, sample_rate=c.sample_rate, n_fft=c.n_fft,
            hop_length=c.hop_length,
        )  # fmt: skip
        hop_s = c.hop_length / c.sample_rate
        if abs(losses.crop_seconds / hop_s - round(losses.crop_seconds / hop_s)) > 1e-6:
            raise UserError(f"the crop must be whole codec frames ({hop_s * 1000:g} ms)")
        self.mel = MelLoss(c.sample_rate, n_ffts=(512, 1024, 2048), n_mels=(40, 80, 128))
        self.stft = MultiResolutionSTFTLoss()
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None  # (batch, its log |X|)

    def model_config(self) -> dict[str, Any]:
        return {"vocoder": self.config.to_dict(), "losses": asdict(self.losses),
                "codec": self.codec_path}  # fmt: skip

    def build_model(self) -> dict[str, nn.Module]:
        return {"disc": VocoderDiscriminator(), "vocoder": Vocoder(self.config)}

    def optimizers(self, model, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {
            "disc": adamw(model["disc"].parameters(), config),
            "vocoder": adamw(model["vocoder"].parameters(), config),
        }

    @torch.no_grad()
    def decoded(self, audio: torch.Tensor, levels: int | None = None) -> torch.Tensor:
        """The frozen codec's decoded log |X| of a batch of crops, at ``levels`` levels
        (None: a random number from :data:`MIN_LEVELS` to all, drawn once per batch: the
        discriminator's and the vocoder's loss of one step share it)."""
        if levels is None and self._last is not None and self._last[0] is audio:
            return self._last[1]
        codec = self.codec if self.codec.device == audio.device else self.codec.to(audio.device)
        drawn = levels is None
        if drawn:
            levels = int(torch.randint(min(MIN_LEVELS, codec.levels), codec.levels + 1, (1,)))
        log_mag = codec.batch_log_magnitude(codec.batch_encode(audio, levels))
        if drawn:
            self._last = (audio, log_mag)
        return log_mag

    def loss(self, model, batch: torch.Tensor, step: int, optimizer: str = "vocoder"):
        gan = step >= self.losses.disc_start
        if optimizer == "disc":
            if not gan:
                return None, {}
            with torch.no_grad():
                fake = model["vocoder"](self.decoded(batch))
            real_out, fake_out = model["disc"](batch), model["disc"](fake)
            d = discriminator_loss(real_out.logits, fake_out.logits)
            return d, {"disc": d.item()}
        est = model["vocoder"](self.decoded(batch))
        mel, stft = self.mel(est, batch), self.stft(est, batch)
        loss = self.losses.mel * mel + self.losses.stft * stft.total
        metrics = {"mel": mel.item(), "sc": stft.sc.item(), "mag": stft.mag.item()}
        if gan:
            adv, fm = adversarial_terms(model["disc"], batch, est)
            loss = loss + self.losses.adv * adv + self.losses.feature * fm
            metrics |= {"adv": adv.item(), "fm": fm.item()}
        return loss, metrics

    def val_metrics(self, model, batch: torch.Tensor, step: int) -> dict[str, float]:
        est = model["vocoder"](self.decoded(batch, levels=self.codec.levels))
        sc = [spectral_convergence(r, e) for r, e in zip(batch, est)]
        return {"mel": self.mel(est, batch).item(), "sc": sum(sc) / len(sc)}
