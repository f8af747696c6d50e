"""The learned vocoder (codec v2's candidate b): where it starts, what it refuses, and that
its training moves the vocoder, never the frozen codec."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musiclm.codec.config import CodecConfig
from musiclm.codec.discriminator import PeriodDiscriminator, VocoderDiscriminator
from musiclm.codec.model import Codec
from musiclm.codec.vocoder import VocodedCodec, Vocoder, VocoderConfig
from musiclm.errors import UserError


def _codec() -> Codec:
    torch.manual_seed(0)
    return Codec(CodecConfig.preset("debug-spectral")).eval()


def _vocoder(codec: Codec) -> Vocoder:
    c = codec.config
    return Vocoder(VocoderConfig(codec_version=codec.version, sample_rate=c.sample_rate,
                                 n_fft=c.n_fft, hop_length=c.hop_length, channels=16,
                                 n_blocks=1))  # fmt: skip


def _tone(seconds: float = 0.5, sr: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)).astype(
        np.float32
    )


def test_untrained_vocoder_plays_the_peak_locked_start():
    """Its head starts at zero: the decoded magnitudes with the peak-locked phase and no
    Griffin-Lim iteration, exactly what the codec's own decoder gives with 0 iterations."""
    codec = _codec()
    voc = VocodedCodec(codec, _vocoder(codec))
    codes = codec.encode(_tone(), 8000)
    with torch.no_grad():
        log_mag = codec.decoder.predict(codec.quantizer.decode(torch.as_tensor(codes)[None]))
        ref = codec.decoder.synthesize(log_mag, iters=0)[0].numpy()
    out = voc.decode(codes)
    assert out.shape == ref.shape == (codes.shape[1] * codec.config.hop_length,)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    assert voc.encode(_tone(), 8000).shape == codes.shape and voc.bitrate() == codec.bitrate()


def test_vocoder_of_another_codec_version_is_refused():
    codec = _codec()
    other = Vocoder(VocoderConfig(codec_version="spectral-00000000", n_fft=64, hop_length=32,
                                  channels=8, n_blocks=1))  # fmt: skip
    with pytest.raises(UserError, match="spectral-00000000.*" + codec.version):
        VocodedCodec(codec, other)
    frame = Codec(CodecConfig.preset("debug"))
    with pytest.raises(UserError, match="spectral"):
        VocodedCodec(frame, _vocoder(codec))
    with pytest.raises(UserError, match="levels, frames"):
        VocodedCodec(codec, _vocoder(codec)).decode(np.zeros(5, dtype=np.int64))


def test_save_and_load_give_the_same_audio(tmp_path):
    codec = _codec()
    voc = _vocoder(codec)
    with torch.no_grad():
        for p in voc.head.parameters():
            p.normal_(0, 0.01)  # a trained head, not the zero one
    voc.save_pretrained(tmp_path / "v")
    back = Vocoder.from_pretrained(tmp_path / "v")
    assert back.config == voc.config
    codes = codec.encode(_tone(), 8000)
    a = VocodedCodec(codec, voc.eval()).decode(codes)
    b = VocodedCodec(codec, back).decode(codes)
    np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(UserError, match="no vocoder"):
        Vocoder.from_pretrained(tmp_path / "missing")


def test_discriminators_judge_periods_and_resolutions():
    x = torch.randn(2, 4000)
    logits, feats = PeriodDiscriminator(3)(x)
    assert logits.shape[0] == 2 and logits.shape[-1] == 3 and len(feats) == 5
    out = VocoderDiscriminator(fft_sizes=(256, 128))(x)
    assert len(out.logits) == len(out.features) == 2 + 5


def test_training_moves_the_vocoder_not_the_codec(tmp_path):
    import soundfile as sf

    from musiclm.codec.vocoder_train import VocoderLossConfig, VocoderTask
    from musiclm.data.manifest import ClipRecord, write_manifest
    from musiclm.training import TrainConfig

    codec = _codec()
    codec.save_pretrained(tmp_path / "codec")
    for i in range(2):
        sf.write(tmp_path / f"{i}.wav", _tone(1.0), 8000)
    write_manifest(
        tmp_path, [ClipRecord(f"t{i}", f"{i}.wav", 8000, 1.0, ["tone"]) for i in range(2)]
    )
    task = VocoderTask(tmp_path / "codec", tmp_path,
                       losses=VocoderLossConfig(disc_start=1, crop_seconds=0.5))  # fmt: skip
    model = task.build_model()
    frozen = {k: v.clone() for k, v in task.codec.state_dict().items()}
    opts = task.optimizers(model, TrainConfig.for_run(2, out_dir=tmp_path / "run"))
    batch = task.collate([task.train_dataset()[i] for i in range(2)])
    before = model["vocoder"].head.weight.clone()
    assert task.loss(model, batch, 0, "disc") == (None, {})  # mel loss alone first
    for step in (0, 1):
        for name, opt in opts.items():
            loss, metrics = task.loss(model, batch, step, name)
            if loss is None:
                continue
            assert torch.isfinite(loss)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert {"mel", "adv", "fm"} <= set(metrics)
    assert not torch.equal(before, model["vocoder"].head.weight)
    assert all(torch.equal(v, frozen[k]) for k, v in task.codec.state_dict().items())
    with pytest.raises(UserError, match="whole codec frames"):
        VocoderTask(tmp_path / "codec", tmp_path, losses=VocoderLossConfig(crop_seconds=0.501))
