"""Frame features and configs: 25 Hz frame counts, resampling, silence, chroma, hashes."""

import dataclasses

import numpy as np
import pytest

from musiclm.errors import UserError
from musiclm.semantic.config import SemanticConfig
from musiclm.semantic.features import (
    frame_features,
    group_scale,
    moments,
    num_frames,
    prepare_audio,
)


def test_ten_seconds_is_250_frames_at_25_hz():
    c = SemanticConfig.preset("tiny")
    assert c.frame_rate == 25 and c.sample_rate == 16000
    f = frame_features(np.random.default_rng(0).standard_normal(160000).astype(np.float32), c)
    assert f.shape == (250, c.feature_dim) and f.dtype == np.float32
    assert np.isfinite(f).all()


@pytest.mark.parametrize("n, frames", [(0, 0), (1, 1), (640, 1), (641, 2), (16000, 25)])
def test_frame_count_is_ceil_of_hops(n, frames):
    c = SemanticConfig.preset("debug")
    assert num_frames(n, c.hop_length) == frames
    assert frame_features(np.ones(n, np.float32) * 0.1, c).shape == (frames, c.feature_dim)


def test_silence_gives_finite_floor_features():
    c = SemanticConfig.preset("debug")
    f = frame_features(np.zeros(16000, np.float32), c)
    assert np.isfinite(f).all()
    assert np.allclose(f[:, : c.n_mels], -100.0) and np.allclose(f[:, c.n_mels :], 0.0)


def test_chroma_finds_the_pitch_class():
    c = SemanticConfig.preset("debug")
    t = np.arange(16000) / 16000
    a = np.sin(2 * np.pi * 440 * t).astype(np.float32)  # A4: pitch class 9
    chroma = frame_features(a, c)[:, c.n_mels : c.n_mels + 12]
    assert (chroma[2:-2].argmax(1) == 9).all()


def test_prepare_audio_mixes_and_resamples_any_input():
    stereo = np.random.default_rng(0).standard_normal((2, 44100)).astype(np.float32) * 0.1
    y = prepare_audio(stereo, 44100, 16000)
    assert y.ndim == 1 and abs(len(y) - 16000) <= 1
    assert prepare_audio(np.zeros(0, np.float32), 44100, 16000).shape == (0,)
    with pytest.raises(UserError, match="transposed"):
        prepare_audio(np.zeros((44100, 2), np.float32), 44100, 16000)
    with pytest.raises(UserError, match="NaN"):
        prepare_audio(np.full(100, np.nan, np.float32), 16000, 16000)
    for bad in (0, -8000, 22050.5, True):
        with pytest.raises(UserError, match="sample_rate"):
            prepare_audio(np.zeros(100, np.float32), bad, 16000)


def test_group_scale_balances_groups_and_moments():
    c = SemanticConfig.preset("tiny")
    s = group_scale(c) ** 2
    assert s[: c.n_mels].sum() == pytest.approx(c.mel_weight**2)
    assert s[c.n_mels : c.n_mels + 12].sum() == pytest.approx(c.chroma_weight**2)
    feats = [np.array([[1.0, 5.0], [3.0, 5.0]], np.float32), np.array([[2.0, 5.0]], np.float32)]
    mean, std = moments(feats)
    assert np.allclose(mean, [2.0, 5.0]) and np.allclose(std, [np.sqrt(2 / 3), 1.0])
    with pytest.raises(UserError):
        moments([np.zeros((0, 2), np.float32)])


def test_config_hash_presets_and_round_trip():
    tiny, debug = SemanticConfig.preset("tiny"), SemanticConfig.preset("debug")
    assert tiny.hash() != debug.hash() and tiny.hash() == SemanticConfig.preset("tiny").hash()
    assert len(tiny.hash()) == 64
    assert SemanticConfig.from_dict(tiny.to_dict()) == tiny
    assert SemanticConfig.preset("base").layer == 7
    with pytest.raises(UserError, match="unknown"):
        SemanticConfig.from_dict({**tiny.to_dict(), "nope": 1})
    with pytest.raises(UserError, match="preset"):
        SemanticConfig.preset("huge")
    with pytest.raises(UserError, match="layer"):
        tiny.replace(layer=7)
    with pytest.raises(ValueError):
        dataclasses.replace(tiny, hop_length=600)  # 16000 / 600 is not a whole frame rate
