"""The towers: shapes, windows, and the awkward inputs (silence, tiny clips, odd rates,
empty / overlong / non-ASCII text)."""

import numpy as np
import pytest
import torch

from fixtures.mulan import make, tone
from musiclm.errors import UserError
from musiclm.mulan.audio import split_windows


def test_tower_shapes(mulan):
    c = mulan.config
    audio = torch.randn(3, c.window_samples)
    assert mulan.audio_tower(audio).shape == (3, c.embed_dim)
    assert mulan.text_tower(["a", "bb", "ccc"]).shape == (3, c.embed_dim)
    a = mulan.encode_audio(audio)
    assert torch.allclose(a.norm(dim=-1), torch.ones(3), atol=1e-5)


def test_padding_is_masked(mulan):
    """A short clip embeds the same whatever follows its valid samples."""
    w = mulan.config.window_samples
    x = torch.zeros(2, w)
    x[:, : w // 4] = torch.from_numpy(tone(220))[: w // 4]
    # quiet junk past the end and past the conv stem's reach: its tokens are masked out
    x[1, w // 4 + 2000 :] = 1e-3 * torch.randn(w - w // 4 - 2000)
    n = torch.tensor([w // 4, w // 4])
    out = mulan.encode_audio(x, n)
    assert torch.allclose(out[0], out[1], atol=1e-5)


def test_split_windows():
    w, n = split_windows(np.ones(5, np.float32), 10)
    assert w.shape == (1, 10) and n.tolist() == [5] and w[0, 5:].sum() == 0
    w, n = split_windows(np.arange(25, dtype=np.float32), 10)
    assert w.shape == (3, 10) and n.tolist() == [10] * 3
    assert w[0, 0] == 0 and w[-1, -1] == 24  # covers the clip from its start to its end


@pytest.mark.parametrize(
    "audio, rate",
    [
        (np.zeros(16000, np.float32), 16000),  # silence
        (np.zeros(3, np.float32), 16000),  # a few samples
        (tone(440, 0.001), 16000),  # 16 samples of sound
        (np.stack([tone(220, 1.0, 44100), tone(330, 1.0, 44100)]), 44100),  # stereo 44.1 kHz
        (tone(220, 3.3, 22050), 22050),  # several windows
    ],
)
def test_embed_audio_any_input(mulan, audio, rate):
    e = mulan.embed_audio(audio, rate)
    assert e.shape == (mulan.embed_dim,) and e.dtype == np.float32
    assert np.isfinite(e).all() and abs(np.linalg.norm(e) - 1) < 1e-5


def test_embed_audio_rejects_bad_input(mulan):
    with pytest.raises(UserError, match="empty"):
        mulan.embed_audio(np.zeros(0), 16000)
    with pytest.raises(UserError, match="NaN"):
        mulan.embed_audio(np.full(100, np.nan), 16000)
    with pytest.raises(UserError, match="transposed"):
        mulan.embed_audio(np.zeros((1000, 2)), 16000)
    with pytest.raises(UserError, match="sample_rate"):
        mulan.embed_audio(np.zeros(100), 0)


def test_embed_text_edge_cases(mulan):
    texts = ["", "   ", "Ünïcödé ♪ 音楽 🎵 مرحبا", "plain ascii"]
    e = mulan.embed_text(texts)
    assert e.shape == (4, mulan.embed_dim) and e.dtype == np.float32
    assert np.isfinite(e).all() and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert mulan.embed_text("one string").shape == (1, mulan.embed_dim)
    assert mulan.embed_text([]).shape == (0, mulan.embed_dim)
    with pytest.raises(UserError, match="strings"):
        mulan.embed_text([1, 2])


def test_overlong_text_is_truncated_with_a_warning():
    m = make(text_max_tokens=32)
    with pytest.warns(UserWarning, match="truncated"):
        long = m.embed_text(["x" * 30 + "y" * 10_000])
    with pytest.warns(UserWarning, match="truncated"):
        cut = m.embed_text(["x" * 30 + "z" * 500])
    assert np.allclose(long, cut, atol=1e-6)  # only the first 30 bytes count


def test_embeddings_are_deterministic(mulan):
    a = mulan.embed_audio(tone(330), 16000)
    assert np.array_equal(a, mulan.embed_audio(tone(330), 16000))
    assert np.array_equal(mulan.embed_text(["x"]), mulan.embed_text(["x"]))
