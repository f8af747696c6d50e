"""MuLan: the contrastive loss learns, RVQ tokens, files round trip, the bundled model."""

import json

import numpy as np
import pytest
import torch

from fixtures.mulan import make, tone
from musiclm.errors import UserError
from musiclm.mulan.model import BUNDLED, MuLan
from musiclm.mulan.rvq import EmbeddingRVQ


def test_loss_decreases_on_a_fixed_batch():
    m = make().train()
    audio = torch.from_numpy(np.stack([tone(110 * 2 ** (i / 3)) for i in range(8)]))
    texts = [f"tone number {i}" for i in range(8)]
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        out = m(audio, texts)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert out.logits.shape == (8, 8) and out.text.shape == (8, m.embed_dim)
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_duplicate_captions_are_all_positives():
    m = make()
    audio = torch.from_numpy(np.stack([tone(200), tone(300), tone(400)]))
    out = m(audio, ["same", "same", "other"])
    # rows 0 and 1 split their target between clips 0 and 1: the loss is finite and the
    # accuracy counts either clip as a hit
    assert torch.isfinite(out.loss) and 0 <= out.acc_t2a <= 1


def test_temperature_is_clamped():
    m = make()
    with torch.no_grad():
        m.logit_scale.fill_(20.0)
    assert m.temperature == pytest.approx(1 / m.config.max_logit_scale)


def test_rvq_fit_and_round_trip():
    torch.manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(500, 16), dim=-1)
    q = EmbeddingRVQ(16, levels=3, codebook_size=32)
    with pytest.raises(UserError, match="no fitted RVQ"):
        q.encode(x)
    fit = q.fit(x, seed=0)
    assert fit.points == 500 and len(fit.relative_error) == 3
    assert fit.relative_error[0] < 1 and all(
        b <= a + 1e-6 for a, b in zip(fit.relative_error, fit.relative_error[1:])
    )
    codes = q.encode(x)
    assert codes.shape == (500, 3) and codes.dtype == torch.int64
    assert codes.min() >= 0 and codes.max() < 32
    err = (q.decode(codes) - x).pow(2).sum() / x.pow(2).sum()
    assert float(err) == pytest.approx(fit.relative_error[-1], rel=1e-3)
    assert torch.equal(q.encode(q.decode(codes[:, :1]), n_levels=1), codes[:, :1])
    with pytest.raises(UserError):
        q.decode(torch.full((2, 3), 99))


def test_rvq_with_fewer_points_than_codes():
    q = EmbeddingRVQ(4, levels=2, codebook_size=16)
    x = torch.randn(5, 4)
    fit = q.fit(x)
    assert fit.relative_error[0] < 1e-6  # every point got a code of its own
    assert q.encode(x).shape == (5, 2)


def test_tokens(mulan):
    emb = mulan.embed_audio_batch([tone(100 * (i + 1)) for i in range(20)], 16000)
    mulan.fit_rvq(emb)
    t = mulan.tokens(emb)
    assert t.shape == (20, mulan.config.rvq_levels) and t.dtype == np.int64
    assert mulan.tokens(emb[0]).shape == (mulan.config.rvq_levels,)
    assert mulan.text_tokens(["a", "b"]).shape == (2, mulan.config.rvq_levels)
    assert mulan.audio_tokens(tone(100), 16000).tolist() == t[0].tolist()
    with pytest.raises(UserError, match="embeddings must be"):
        mulan.tokens(np.zeros((2, 3)))


def test_save_load_round_trip(mulan, tmp_path):
    mulan.fit_rvq(mulan.embed_audio_batch([tone(150), tone(250), tone(350)], 16000))
    mulan.save_pretrained(tmp_path / "m")
    header = json.loads((tmp_path / "m" / "config.json").read_text())
    assert header["config_hash"] == mulan.config_hash()
    again = MuLan.from_pretrained(tmp_path / "m")
    texts = ["", "ambient pad", "音楽"]
    assert np.array_equal(again.embed_text(texts), mulan.embed_text(texts))
    clip = tone(220, 2.5, 22050)
    assert np.array_equal(again.embed_audio(clip, 22050), mulan.embed_audio(clip, 22050))
    assert np.array_equal(again.text_tokens(texts), mulan.text_tokens(texts))


def test_load_errors(tmp_path, mulan):
    with pytest.raises(UserError, match="missing config.json|no such|missing"):
        MuLan.from_pretrained(tmp_path / "nothing")
    mulan.save_pretrained(tmp_path / "m")
    header = json.loads((tmp_path / "m" / "config.json").read_text())
    header["model"]["embed_dim"] = 8  # weights of another shape
    (tmp_path / "m" / "config.json").write_text(json.dumps(header))
    with pytest.raises(UserError):
        MuLan.from_pretrained(tmp_path / "m")


@pytest.mark.skipif((BUNDLED / "config.json").exists(), reason="a bundled MuLan exists")
def test_no_bundled_model_yet():
    with pytest.raises(UserError, match="no bundled MuLan yet"):
        MuLan.from_pretrained(None)
