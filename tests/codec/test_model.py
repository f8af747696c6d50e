"""The codec model: presets, shapes, encode/decode on any input, files, training signal."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from musiclm.codec.config import PRESETS, CodecConfig
from musiclm.codec.framecodec import FrameDecoder, FrameEncoder
from musiclm.codec.model import Codec
from musiclm.errors import UserError

DEBUG = ("debug", "debug-seanet", "debug-spectral")


def make(name: str = "debug", seed: int = 0) -> Codec:
    torch.manual_seed(seed)
    return Codec(CodecConfig.preset(name)).eval()


def music(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """A few decaying partials plus a little noise: enough structure for a spectral loss."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = sum(0.2 * np.sin(2 * np.pi * f * t) * np.exp(-3 * (t % 0.25)) for f in (220, 330, 550))
    return (y + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def spectral_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Multi-resolution L1 of log magnitudes plus linear magnitudes (a tiny MR-STFT loss)."""
    n = min(x.shape[-1], y.shape[-1])  # the codec pads to whole frames
    x, y = x[..., :n], y[..., :n]
    loss = x.new_zeros(())
    for n_fft in (32, 64, 128):
        win = torch.hann_window(n_fft)
        sx, sy = (
            torch.stft(a, n_fft, n_fft // 4, window=win, return_complex=True).abs() for a in (x, y)
        )
        log_diff = sx.clamp_min(1e-5).log() - sy.clamp_min(1e-5).log()
        loss = loss + (sx - sy).abs().mean() + log_diff.abs().mean()
    return loss


# -- configs --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_validate_and_round_trip(name):
    c = CodecConfig.preset(name)
    assert c.sample_rate % c.hop == 0 and c.frame_rate == c.sample_rate // c.hop
    d = json.loads(json.dumps(c.to_dict()))
    assert CodecConfig.from_dict(d) == c
    assert CodecConfig.from_dict(d).hash() == c.hash()


@pytest.mark.parametrize(
    "name, family, params, kbps",
    [("tiny", "frame", (2.5e6, 3.5e6), 4.0), ("tiny-seanet", "seanet", (1.2e6, 2.5e6), 4.0),
     ("base", "seanet", (4e6, 10e6), 6.0)],
)  # fmt: skip
def test_real_presets_sizes_and_rates(name, family, params, kbps):
    codec = Codec(CodecConfig.preset(name))
    n = sum(p.numel() for p in codec.parameters())
    assert params[0] < n < params[1]
    assert codec.config.family == family
    assert (codec.sample_rate, codec.frame_rate, codec.hop_length) == (24000, 50, 480)
    assert codec.bitrate() == kbps * 1000
    assert codec.bitrate(1) == 500  # 50 Hz x 10 bits
    with torch.no_grad():
        out = codec.batch_decode(codec.batch_encode(torch.zeros(1, 960)))
    assert out.shape == (1, 960)


def test_base_is_musiclm_acoustic_tokenizer():
    c = CodecConfig.preset("base")
    assert (c.levels, c.codebook_size, c.frame_rate, c.bitrate()) == (12, 1024, 50, 6000)


def test_config_errors_and_hash():
    c = CodecConfig.preset("debug")
    assert c.hash() == CodecConfig.preset("debug").hash()
    assert c.hash() != CodecConfig(**{**c.to_dict(), "levels": 3}).hash()
    with pytest.raises(ValueError, match="divisible"):
        CodecConfig(**{**c.to_dict(), "hop_length": 48, "n_fft": 96, "sample_rate": 8000})
    with pytest.raises(ValueError, match="family"):
        CodecConfig(family="lstm")
    with pytest.raises(UserError, match="unknown codec config keys"):
        CodecConfig.from_dict({**c.to_dict(), "bogus": 1})
    with pytest.raises(UserError, match="invalid codec config"):
        CodecConfig.from_dict({**c.to_dict(), "format_version": 99})
    with pytest.raises(UserError, match="unknown codec preset"):
        CodecConfig.preset("huge")


# -- shapes and alignment ---------------------------------------------------------------------


@pytest.mark.parametrize("name", DEBUG)
def test_forward_shapes(name):
    codec = make(name).train()
    hop = codec.hop_length
    out = codec(torch.randn(3, 5 * hop + 7), n_levels=2)
    assert out.audio.shape == (3, 6 * hop)
    assert out.codes.shape == (3, 2, 6) and out.codes.dtype == torch.int64
    assert out.n_levels == 2 and out.perplexity.shape == (2,)
    assert out.commit_loss.ndim == 0 and torch.isfinite(out.commit_loss)


def test_frame_backbone_stft_round_trip_is_time_aligned():
    """The decoder's iSTFT inverts the encoder's STFT frame for frame: same sample times."""
    c = CodecConfig.preset("tiny")
    stft = dict(n_fft=c.n_fft, hop_length=c.hop_length)
    enc, dec = FrameEncoder(8, 8, 1, **stft), FrameDecoder(8, 8, 1, **stft)
    for frames in (1, 2, 7):
        x = torch.randn(2, frames * c.hop_length)
        assert enc.features(x).shape == (2, 3 * (c.n_fft // 2 + 1), frames)
        torch.testing.assert_close(dec.synthesize(enc.features(x)), x, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", DEBUG)
@pytest.mark.parametrize(
    "rate, shape",
    [(8000, (1001,)), (8000, (2, 4003)), (44100, (2, 22051)), (16000, (1, 999)), (22050, (3,))],
)
def test_encode_decode_lengths_any_rate_and_channels(name, rate, shape):
    codec = make(name)
    audio = np.random.default_rng(1).uniform(-0.5, 0.5, shape).astype(np.float32)
    codes = codec.encode(audio, rate)
    expected = shape[-1] * codec.sample_rate / rate  # samples at the codec's rate
    assert codes.shape == (codec.levels, max(1, math.ceil(round(expected) / codec.hop_length)))
    assert codes.dtype == np.int64
    y = codec.decode(codes)
    assert y.dtype == np.float32 and y.shape == (codes.shape[1] * codec.hop_length,)
    assert abs(len(y) - expected) <= codec.hop_length
    assert np.isfinite(y).all()


@pytest.mark.parametrize("name", DEBUG)
def test_silence_and_tiny_inputs(name):
    codec = make(name)
    for audio, rate, frames in [(np.zeros(8000), 8000, 250), (np.zeros(1), 8000, 1),
                                (np.ones(1), 44100, 1)]:  # fmt: skip
        codes = codec.encode(audio, rate)
        assert codes.shape == (codec.levels, frames)
        assert np.isfinite(codec.decode(codes)).all()
    codes = codec.encode(torch.zeros(2, 5), 8000)  # torch input, stereo, under one frame
    assert codes.shape == (codec.levels, 1)


def test_encode_rejects_bad_audio():
    codec = make()
    with pytest.raises(UserError, match="NaN"):
        codec.encode(np.array([0.0, np.nan, 0.0]), 8000)
    with pytest.raises(UserError, match="infinite"):
        codec.encode(np.array([np.inf]), 8000)
    with pytest.raises(UserError, match="empty"):
        codec.encode(np.zeros(0), 8000)
    with pytest.raises(UserError, match="transposed"):
        codec.encode(np.zeros((8000, 2)), 8000)  # (samples, channels)
    with pytest.raises(UserError, match="sample_rate"):
        codec.encode(np.zeros(100), 0)
    with pytest.raises(UserError, match="n_levels"):
        codec.encode(np.zeros(100), 8000, n_levels=5)


def test_level_prefixes_and_bitrate():
    codec = make()
    audio = music(0.5, 8000)
    full = codec.encode(audio, 8000)
    two = codec.encode(audio, 8000, n_levels=2)
    np.testing.assert_array_equal(two, full[:2])  # RVQ: fewer levels = a prefix
    assert codec.decode(two).shape == codec.decode(full).shape
    assert codec.bitrate(2) == 250 * 2 * 5  # 250 Hz x 2 levels x log2(32) bits


def test_decode_rejects_mismatched_codes():
    codec = make()
    good = np.zeros((codec.levels, 10), dtype=np.int64)
    codec.decode(good)
    with pytest.raises(UserError, match="levels"):
        codec.decode(np.zeros((codec.levels + 1, 10), dtype=np.int64))
    bad = good.copy()
    bad[1, 3] = codec.codebook_size
    with pytest.raises(UserError, match="code values"):
        codec.decode(bad)
    bad[1, 3] = -1
    with pytest.raises(UserError, match="code values"):
        codec.decode(bad)
    with pytest.raises(UserError, match="integers"):
        codec.decode(good.astype(np.float32))
    with pytest.raises(UserError, match="levels, frames"):
        codec.decode(good[0])
    with pytest.raises(UserError, match="no frames"):
        codec.decode(good[:, :0])


@pytest.mark.parametrize("name", DEBUG)
def test_encode_is_deterministic(name):
    audio = music(0.3, 8000)
    a, b = make(name, seed=3), make(name, seed=3)
    np.testing.assert_array_equal(a.encode(audio, 8000), a.encode(audio, 8000))
    np.testing.assert_array_equal(a.encode(audio, 8000), b.encode(audio, 8000))
    np.testing.assert_array_equal(a.decode(a.encode(audio, 8000)), b.decode(b.encode(audio, 8000)))


# -- training signal ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", DEBUG)
def test_calibrate_gives_unit_rms_latent(name):
    codec = make(name)
    batch = torch.from_numpy(np.stack([music(0.25, 8000, s) for s in range(2)]))
    scale = codec.calibrate(batch)
    assert scale > 0 and float(codec.latent_scale) == pytest.approx(scale)
    with torch.no_grad():
        z = codec._latent(codec._pad(batch))
    assert float(z.square().mean().sqrt()) == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("name", DEBUG)
def test_a_few_steps_lower_the_spectral_loss(name):
    codec = make(name, seed=0)
    torch.manual_seed(0)
    batch = torch.from_numpy(np.stack([music(0.25, 8000, s) for s in range(4)]))
    codec.calibrate(batch)

    def eval_loss() -> float:
        codec.eval()
        with torch.no_grad():
            return float(spectral_l1(codec(batch, n_levels=codec.levels).audio, batch))

    codec.train()
    codec(batch)  # first training batch seeds the codebooks from data (k-means)
    before = eval_loss()
    opt = torch.optim.Adam(codec.parameters(), lr=3e-3)
    codec.train()
    for _ in range(20 if codec.config.family == "seanet" else 30):  # SEANet: slower steps
        out = codec(batch, n_levels=codec.levels, synthesize=codec.config.family != "spectral")
        if out.log_mag is not None:  # magnitude-domain codec: trained on magnitudes
            loss = (out.log_mag - out.target_log_mag).abs().mean() + out.commit_loss
        else:
            loss = spectral_l1(out.audio, batch) + out.commit_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = eval_loss()
    assert after < 0.8 * before, (before, after)


# -- files ----------------------------------------------------------------------------------------


@pytest.fixture
def trained():
    """A debug codec with data-seeded codebooks and a calibrated scale (non-default state)."""
    codec = make()
    batch = torch.from_numpy(np.stack([music(0.25, 8000, s) for s in range(2)]))
    codec.calibrate(batch)
    codec.train()
    codec(batch)
    return codec.eval()


def test_save_load_round_trip_is_bit_exact(trained, tmp_path):
    trained.save_pretrained(tmp_path / "codec")
    header = json.loads((tmp_path / "codec" / "config.json").read_text())
    assert header["config_hash"] == trained.config.hash()
    loaded = Codec.from_pretrained(tmp_path / "codec")
    assert loaded.config == trained.config and not loaded.training
    a, b = trained.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for k in a:  # the RVQ's EMA sums are training state, rebuilt from the codebooks
        if k.endswith("ema_sum"):
            assert torch.allclose(a[k], b[k], rtol=0.05, atol=1e-3), k
        else:
            assert torch.equal(a[k], b[k]), k
    audio = music(0.4, 8000, seed=5)
    codes = trained.encode(audio, 8000)
    np.testing.assert_array_equal(loaded.encode(audio, 8000), codes)
    np.testing.assert_array_equal(loaded.decode(codes), trained.decode(codes))


def test_fp16_checkpoint_loads_into_fp32(trained, tmp_path):
    trained.save_pretrained(tmp_path / "half", fp16=True)
    loaded = Codec.from_pretrained(tmp_path / "half")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    codes = trained.encode(music(0.4, 8000), 8000)
    np.testing.assert_allclose(loaded.decode(codes), trained.decode(codes), atol=5e-2)


def test_checkpoint_with_mismatched_config_is_rejected(trained, tmp_path):
    from musiclm.training.checkpoint import save_pretrained

    other = CodecConfig(**{**trained.config.to_dict(), "channels": 16})
    save_pretrained(trained, other.to_dict(), tmp_path / "bad")
    with pytest.raises(UserError, match="do not match"):
        Codec.from_pretrained(tmp_path / "bad")


def test_missing_bundled_codec_is_a_clear_error(tmp_path, monkeypatch):
    import musiclm.codec.model as model_module

    monkeypatch.setattr(model_module, "BUNDLED", tmp_path / "none")
    with pytest.raises(UserError, match="no bundled codec yet"):
        Codec.from_pretrained()


def test_checkpoint_of_another_model_is_rejected(trained, tmp_path):
    from musiclm.training.checkpoint import save_pretrained

    save_pretrained(trained, {"n_layers": 2, "d_model": 8}, tmp_path / "lm")
    with pytest.raises(UserError, match="unknown codec config keys"):
        Codec.from_pretrained(tmp_path / "lm")
