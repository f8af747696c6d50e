"""The magnitude-domain codec (v2): phase recovery, alignment, training on magnitudes,
code-file versions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from musiclm.codec.config import CodecConfig
from musiclm.codec.losses import chroma_frame_correlation, spectral_convergence
from musiclm.codec.model import Codec
from musiclm.codec.phase import griffin_lim, peak_phase, stft
from musiclm.codec.tokens import CodeFile, load_codes, save_codes
from musiclm.codec.train import CodecLossConfig, CodecTask


def chord(seconds: float, sr: int, freqs=(261.63, 329.63, 392.0)) -> np.ndarray:
    """A C major triad with decaying notes re-struck every half second, and a melody."""
    t = np.arange(int(seconds * sr)) / sr
    env = np.exp(-4 * (t % 0.5))
    y = sum(0.15 * np.sin(2 * np.pi * f * t) * env for f in freqs)
    melody = np.array([523.25, 587.33, 659.25, 698.46])[(t * 4).astype(int) % 4]
    y = y + 0.1 * np.sin(2 * np.pi * np.cumsum(melody) / sr)
    return y.astype(np.float32)


def _magnitude(y: np.ndarray, n_fft: int, hop: int) -> tuple[torch.Tensor, int]:
    x = torch.from_numpy(y)[None]
    x = x[..., : (x.shape[-1] // hop) * hop]
    return stft(x, n_fft, hop, torch.hann_window(n_fft)).abs(), x.shape[-1]


def test_peak_phase_of_a_sine_matches_its_stft_phase():
    """A stationary sinusoid: the estimated phase advance per frame equals the true one."""
    sr, n_fft, hop, f = 8000, 512, 128, 437.0
    t = np.arange(sr) / sr
    x = torch.from_numpy(np.sin(2 * np.pi * f * t).astype(np.float32))[None]
    spec = stft(x, n_fft, hop, torch.hann_window(n_fft))
    k = round(f * n_fft / sr)
    est = peak_phase(spec.abs(), n_fft=n_fft, hop=hop)
    frames = slice(4, spec.shape[-1] - 4)  # away from the zero-padded edges
    true_step = torch.angle(spec[0, k, 1:] / spec[0, k, :-1])[frames]
    est_step = torch.angle(est[0, k, 1:] / est[0, k, :-1])[frames]
    assert torch.allclose(true_step, est_step, atol=0.05)
    assert torch.allclose(est.abs(), torch.ones_like(est.abs()))


@pytest.mark.parametrize("init", ["peaks", "zero"])
def test_griffin_lim_recovers_the_magnitude_and_more_iterations_help(init):
    sr, n_fft, hop = 8000, 512, 128
    y = chord(1.0, sr)
    mag, n = _magnitude(y, n_fft, hop)
    sc = []
    for iters in (0, 16):
        out = griffin_lim(mag, n_fft=n_fft, hop=hop, length=n, iters=iters, init=init)
        assert out.shape == (1, n) and out.dtype == torch.float32
        sc.append(spectral_convergence(y[:n], out[0].numpy()))
    assert sc[1] < sc[0] and sc[1] < 0.3, sc


def test_peak_init_beats_zero_phase_at_few_iterations():
    """The reason the codec starts from peak_phase: fewer iterations for the same notes."""
    sr, n_fft, hop = 8000, 512, 128
    y = chord(2.0, sr)
    mag, n = _magnitude(y, n_fft, hop)
    r = {}
    for init in ("peaks", "zero"):
        out = griffin_lim(mag, n_fft=n_fft, hop=hop, length=n, iters=2, init=init)
        r[init] = chroma_frame_correlation(y[:n], out[0].numpy(), sr)
    assert r["peaks"] > r["zero"] and r["peaks"] > 0.8, r


def test_griffin_lim_is_batched_and_deterministic():
    sr, n_fft, hop = 8000, 256, 64
    a, n = _magnitude(chord(0.5, sr), n_fft, hop)
    b, _ = _magnitude(chord(0.5, sr, (220.0, 277.18)), n_fft, hop)
    both = griffin_lim(torch.cat([a, b]), n_fft=n_fft, hop=hop, length=n, iters=3)
    one = griffin_lim(b, n_fft=n_fft, hop=hop, length=n, iters=3)
    assert torch.allclose(both[1], one[0], atol=1e-5)
    assert torch.equal(one, griffin_lim(b, n_fft=n_fft, hop=hop, length=n, iters=3))


def test_griffin_lim_rejects_bad_arguments():
    mag = torch.ones(1, 129, 5)
    with pytest.raises(ValueError, match="magnitude must be"):
        griffin_lim(mag, n_fft=512, hop=64, length=256)
    with pytest.raises(ValueError, match="momentum"):
        griffin_lim(mag, n_fft=256, hop=64, length=256, momentum=1.0)
    with pytest.raises(ValueError, match="init"):
        griffin_lim(mag, n_fft=256, hop=64, length=256, init="random")


def test_decoder_synthesis_of_the_encoder_target_is_time_aligned():
    """Magnitudes of the input, synthesised by the decoder, give back the input's notes at
    the same sample times (no frame offset between analysis and synthesis)."""
    torch.manual_seed(0)
    small = CodecConfig.preset("debug-spectral").to_dict()
    codec = Codec(CodecConfig(**{**small, "n_fft": 512, "hop_length": 100})).eval()
    y = chord(1.0, 8000)
    x = codec._pad(torch.from_numpy(y)[None])
    with torch.no_grad():
        out = codec.decoder.synthesize(codec.encoder.log_magnitude(x), iters=16)[0].numpy()
    assert out.shape == x.shape[1:]
    n = len(y)
    assert chroma_frame_correlation(y, out[:n], 8000) > 0.9
    shifted = np.roll(out[:n], codec.hop_length)
    assert spectral_convergence(y, out[:n]) < spectral_convergence(y, shifted)


def test_spectral_preset_is_6kbps_and_fits_the_bundle_budget(tmp_path):
    codec = Codec(CodecConfig.preset("spectral"))
    assert (codec.sample_rate, codec.frame_rate, codec.levels, codec.codebook_size) == (
        24000, 50, 12, 1024,
    )  # fmt: skip
    assert codec.bitrate() == 6000
    codec.save_pretrained(tmp_path, fp16=True)
    assert (tmp_path / "model.safetensors").stat().st_size < 15e6  # the bundle's budget
    back = Codec.from_pretrained(tmp_path)
    for a, b in zip(codec.quantizer.layers, back.quantizer.layers):
        assert torch.allclose(a.ema_sum, b.ema_sum, rtol=1e-2, atol=1e-2)


def test_training_mode_skips_synthesis_and_returns_magnitudes():
    codec = Codec(CodecConfig.preset("debug-spectral")).train()
    x = torch.from_numpy(np.stack([chord(0.25, 8000)] * 2))
    out = codec(x, n_levels=2, synthesize=False)
    frames = -(-x.shape[-1] // codec.hop_length)
    assert out.audio.shape == (2, 0)
    assert out.log_mag.shape == out.target_log_mag.shape == (2, 33, frames)
    assert out.log_mag.requires_grad and not out.target_log_mag.requires_grad


def test_spectral_task_loss_is_magnitude_based(tmp_path):
    codec = Codec(CodecConfig.preset("debug-spectral")).train()
    task = CodecTask.__new__(CodecTask)  # no corpus needed for the loss itself
    task.losses, task.decoder_only = CodecLossConfig(), False
    x = torch.from_numpy(np.stack([chord(0.25, 8000)] * 2))
    loss, metrics = task.loss(codec, x, step=0)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert {"sc", "log_mag", "commit", "perplexity_l1"} <= set(metrics)
    task.losses = CodecLossConfig(adversarial=True)
    with pytest.raises(Exception, match="adversarial"):
        task.loss(codec, x, step=0)


def test_version_ignores_decode_settings_and_names_the_family():
    c = CodecConfig.preset("debug-spectral")
    assert c.version.startswith("spectral-") and len(c.version) == len("spectral-") + 8
    assert CodecConfig(**{**c.to_dict(), "gla_iters": 9}).version == c.version
    assert CodecConfig(**{**c.to_dict(), "levels": 3}).version != c.version
    assert CodecConfig.preset("debug").version.startswith("frame-")
    with pytest.raises(ValueError, match="gla_iters"):
        CodecConfig(**{**c.to_dict(), "gla_iters": -1})


def test_code_file_keeps_the_codec_version(tmp_path):
    codes = np.zeros((2, 5), dtype=np.int64)
    save_codes(tmp_path / "a.npz", CodeFile(codes, 8000, 250.0, 32, 1234, "spectral-0123abcd"))
    f = load_codes(tmp_path / "a.npz")
    assert f.codec_version == "spectral-0123abcd" and f.samples == 1234
    save_codes(tmp_path / "b.npz", CodeFile(codes, 8000, 250.0, 32))
    assert load_codes(tmp_path / "b.npz").codec_version is None


def test_encode_decode_of_silence_and_short_clips_is_finite():
    codec = Codec(CodecConfig.preset("debug-spectral")).eval()
    for y in (np.zeros(8000, np.float32), np.zeros(80, np.float32)):
        audio = codec.decode(codec.encode(y, 8000))
        assert np.isfinite(audio).all() and len(audio) >= len(y)
    assert math.isfinite(float(np.abs(codec.decode(codec.encode(chord(0.1, 8000), 8000))).max()))
