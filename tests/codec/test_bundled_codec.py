"""The codecs that ship in the package (v2, the default, and v1): they load offline, are
small, and code music."""

import numpy as np
import pytest

from musiclm.codec.losses import spectral_convergence
from musiclm.codec.model import BUNDLED, BUNDLED_V1, BUNDLED_V2, Codec

pytestmark = pytest.mark.skipif(
    not (BUNDLED / "config.json").exists(), reason="no bundled codec in this checkout"
)
FOLDERS = {"v1": BUNDLED_V1, "v2": BUNDLED_V2}


def _music(sr: int, seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A plucked-string chord progression with a kick: harmonics, onsets, decays."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = np.zeros_like(t)
    for start, root in zip(np.arange(0, seconds, 0.5), rng.choice([48, 53, 55, 57], 6)):
        for note in (root, root + 4, root + 7):
            f = 440 * 2 ** ((note - 69) / 12)
            env = np.where(t >= start, np.exp(-(t - start) * 4), 0)
            y += sum(env * np.sin(2 * np.pi * k * f * t) / k**1.5 for k in range(1, 6))
        kick = np.where(t >= start, np.exp(-(t - start) * 30), 0)
        y += 0.8 * kick * np.sin(2 * np.pi * 55 * (t - start))
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def test_the_default_codec_is_v2():
    assert BUNDLED == BUNDLED_V2
    assert Codec.from_pretrained().config == Codec.from_pretrained("v2").config


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_bundled_codec_is_small_and_fp16(name):
    size = sum(p.stat().st_size for p in FOLDERS[name].iterdir())
    assert size <= 15 * 2**20  # the limit for the tiny weights


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_bundled_codec_round_trip_beats_silence_and_a_reversed_clip(name):
    codec = Codec.from_pretrained(name)
    sr = codec.sample_rate
    y = _music(sr, seed=0)
    codes = codec.encode(y, sr)
    assert codes.shape == (codec.levels, -(-len(y) // codec.hop_length))
    out = codec.decode(codes)[: len(y)]
    assert len(out) == len(y) and np.isfinite(out).all()
    sc = spectral_convergence(y, out)
    # silence scores 1.0 and the clip played backwards (same spectrum, wrong time) ~1.1;
    # the tiny codec measured 0.84 on this synthetic clip (0.64 on engine clips)
    assert sc < 0.9 and sc < spectral_convergence(y, y[::-1].copy()), sc
    # more levels never code worse than one (the fine levels carry detail)
    one = codec.decode(codec.encode(y, sr, n_levels=1))[: len(y)]
    assert sc <= spectral_convergence(y, one) + 1e-3
